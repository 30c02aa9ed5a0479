package catalog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/switchboard-dev/switchboard/proto/pluginv1"
)

// session is the host's end of a plugin process's Session stream (plugin
// protocol version 2): every invocation is one frame each way on it,
// matched to its caller by invocation id.
type session struct {
	stream pluginv1.ActionPlugin_SessionClient
	close  context.CancelFunc // ends the stream

	sendMu sync.Mutex // gRPC allows one sender at a time

	mu      sync.Mutex
	waiting map[uint64]chan *pluginv1.SessionResponse // nil once the stream ended
	err     error                                     // why it ended
}

// openSession opens the Session stream of a process and receives on it
// until it ends.
func openSession(rpc pluginv1.ActionPluginClient) (*session, error) {
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := rpc.Session(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	s := &session{stream: stream, close: cancel, waiting: make(map[uint64]chan *pluginv1.SessionResponse)}
	go s.receive()
	return s, nil
}

func (s *session) receive() {
	for {
		resp, err := s.stream.Recv()
		if err != nil {
			s.end(err)
			return
		}
		s.mu.Lock()
		ch := s.waiting[resp.GetInvocationId()]
		delete(s.waiting, resp.GetInvocationId())
		s.mu.Unlock()
		if ch != nil { // nil: a cancelled invocation's late answer
			ch <- resp
		}
	}
}

// end fails every invocation still waiting with why the stream ended, as
// a transport failure: the process is gone, or going.
func (s *session) end(err error) {
	switch {
	case errors.Is(err, io.EOF):
		err = status.Error(codes.Unavailable, "the plugin closed its session")
	case status.Code(err) == codes.Unimplemented:
		err = status.Error(codes.Unavailable, "the plugin announced protocol version 2 but does not serve Session")
	}
	s.mu.Lock()
	waiting := s.waiting
	s.waiting, s.err = nil, err
	s.mu.Unlock()
	for _, ch := range waiting {
		close(ch)
	}
}

// invoke runs one invocation on the stream. Its failures are what
// Process.invokeError reads: the plugin's typed error (*apierr.Error), a
// transport status, or the context's error.
func (s *session) invoke(ctx context.Context, req *pluginv1.InvokeRequest) ([]byte, error) {
	id := req.GetInvocationId()
	ch := make(chan *pluginv1.SessionResponse, 1)
	s.mu.Lock()
	switch {
	case s.waiting == nil:
		err := s.err
		s.mu.Unlock()
		return nil, err
	case s.waiting[id] != nil:
		// Answers are matched by id: a second invocation under one id
		// could get the other's output.
		s.mu.Unlock()
		return nil, status.Error(codes.Internal, fmt.Sprintf("invocation id %d is already running in this process", id))
	}
	s.waiting[id] = ch
	s.mu.Unlock()

	if dl, ok := ctx.Deadline(); ok {
		req.Budget = durationpb.New(time.Until(dl))
	}
	if err := s.send(&pluginv1.SessionRequest{Frame: &pluginv1.SessionRequest_Invoke{Invoke: req}}); err != nil {
		s.forget(id)
		return nil, err
	}
	select {
	case resp, ok := <-ch:
		if !ok {
			s.mu.Lock()
			defer s.mu.Unlock()
			return nil, s.err
		}
		if e := resp.GetError(); e != nil {
			return nil, fromWireError(e)
		}
		return resp.GetOutput(), nil
	case <-ctx.Done():
		s.forget(id)
		// Best effort: the plugin stops the handler; a stream too broken
		// to carry this fails every call anyway.
		_ = s.send(&pluginv1.SessionRequest{Frame: &pluginv1.SessionRequest_Cancel{Cancel: id}})
		return nil, ctx.Err()
	}
}

func (s *session) forget(id uint64) {
	s.mu.Lock()
	delete(s.waiting, id)
	s.mu.Unlock()
}

func (s *session) send(req *pluginv1.SessionRequest) error {
	s.sendMu.Lock()
	err := s.stream.Send(req)
	s.sendMu.Unlock()
	if err != nil {
		// Send reports only io.EOF for a broken stream; its cause is
		// what Recv gets.
		return status.Error(codes.Unavailable, fmt.Sprintf("the plugin's session is broken: %v", err))
	}
	return nil
}
