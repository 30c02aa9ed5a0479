package sdk

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/switchboard-dev/switchboard/proto/pluginv1"
)

// Session serves plugin protocol version 2: every invocation of the host
// on one stream, each in its own goroutine, answered as it ends (see
// plugin.proto). It returns when the host closes the stream or the plugin
// stops serving; the invocations still running are cancelled then.
func (s *server) Session(stream pluginv1.ActionPlugin_SessionServer) error {
	sess := &session{server: s, stream: stream, running: make(map[uint64]context.CancelFunc), work: make(chan func())}
	defer sess.close()
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		switch f := req.GetFrame().(type) {
		case *pluginv1.SessionRequest_Invoke:
			sess.start(stream.Context(), f.Invoke)
		case *pluginv1.SessionRequest_Cancel:
			sess.cancel(f.Cancel)
		}
	}
}

// session is one Session stream and the invocations running on it.
type session struct {
	*server
	stream pluginv1.ActionPlugin_SessionServer

	mu      sync.Mutex
	running map[uint64]context.CancelFunc

	sendMu sync.Mutex // gRPC allows one sender at a time
	closed bool       // under sendMu: the stream's handler returned, nothing more may be sent

	// work hands an invocation to an idle worker. Workers keep the stacks
	// they grew, so an invocation does not pay for a new goroutine's stack
	// growth (a fifth of a plugin's CPU when each had its own).
	work    chan func()
	workers int // started, at most streamWorkers; only the receiving goroutine counts them
}

// start runs one invocation within its budget and sends its end.
func (s *session) start(ctx context.Context, req *pluginv1.InvokeRequest) {
	id := req.GetInvocationId()
	var cancel context.CancelFunc
	if b := req.GetBudget(); b != nil {
		ctx, cancel = context.WithTimeout(ctx, b.AsDuration())
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	s.mu.Lock()
	s.running[id] = cancel
	s.mu.Unlock()
	s.run(func() {
		out, err := s.invoke(ctx, fromInvokeRequest(req))
		s.mu.Lock()
		delete(s.running, id)
		s.mu.Unlock()
		cancel()
		s.send(toSessionResponse(id, out, err))
	})
}

// run runs f on an idle worker, on a new worker while there are fewer than
// streamWorkers, else on a goroutine of its own.
func (s *session) run(f func()) {
	select {
	case s.work <- f:
		return
	default:
	}
	if s.workers < streamWorkers {
		s.workers++
		go s.worker(f)
		return
	}
	go f()
}

func (s *session) worker(f func()) {
	for ok := true; ok; f, ok = <-s.work {
		f()
	}
}

// cancel stops the invocation id, if it still runs; its answer, which the
// host no longer waits for, is sent anyway and ignored.
func (s *session) cancel(id uint64) {
	s.mu.Lock()
	cancel := s.running[id]
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

func (s *session) send(resp *pluginv1.SessionResponse) {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if s.closed {
		return
	}
	if err := s.stream.Send(resp); err != nil {
		s.logger.Debug("the host's session ended before an answer", "invocation_id", resp.GetInvocationId(), "error", err)
	}
}

// close cancels what still runs and stops every later send: gRPC forbids
// sending on a stream whose handler has returned.
func (s *session) close() {
	close(s.work) // only the receiving goroutine, which returns now, sends on it
	s.sendMu.Lock()
	s.closed = true
	s.sendMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, cancel := range s.running {
		cancel()
	}
}
