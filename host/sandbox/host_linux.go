package sandbox

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	seccomp "github.com/elastic/go-seccomp-bpf"
	ll "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"
)

// GuardHost makes the host process non-dumpable: no process of the host's
// own user can read its /proc/<pid>/environ, mem or fd, or ptrace it, and it
// leaves no core dump. Only a process with CAP_SYS_PTRACE still can.
func GuardHost() error {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("making the host non-dumpable: %w", err)
	}
	return nil
}

// Probe finds what this machine can apply. launcher is the launcher
// executable, "" if there is none.
func Probe(launcher string) Capabilities {
	caps := Capabilities{Launcher: launcher, Seccomp: seccomp.Supported()}
	if v, err := ll.LandlockGetABIVersion(); err == nil {
		caps.LandlockABI = v
	}
	return caps
}

// sealBuffer is the copy buffer of Seal.
const sealBuffer = 1 << 20

// Seal copies the executable f into a sealed memory file and hashes the
// bytes as they are copied, once. It returns a read-only descriptor of the
// memory file and the hex SHA-256 of exactly its content: the seals forbid
// any further write, truncation or growth, so the bytes that were hashed
// are the bytes the plugin runs, whatever happens to f meanwhile.
func Seal(f *os.File, name string) (sealed *os.File, sum string, err error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING|unix.MFD_EXEC)
	if errors.Is(err, unix.EINVAL) { // kernels before 6.3 know no MFD_EXEC; their memory files are executable
		fd, err = unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	}
	if err != nil {
		return nil, "", fmt.Errorf("memfd_create: %w", err)
	}
	mem := os.NewFile(uintptr(fd), "memfd:"+name)
	defer mem.Close()
	h := sha256.New()
	if _, err := io.CopyBuffer(io.MultiWriter(mem, h), f, make([]byte, sealBuffer)); err != nil {
		return nil, "", fmt.Errorf("copying %s: %w", f.Name(), err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(mem.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		return nil, "", fmt.Errorf("sealing the copy of %s: %w", f.Name(), err)
	}
	// Executing a file that is open for writing fails (ETXTBSY): reopen it
	// read-only, and close the writable descriptor.
	ro, err := os.Open(fmt.Sprintf("/proc/self/fd/%d", mem.Fd()))
	if err != nil {
		return nil, "", fmt.Errorf("reopening the sealed copy of %s: %w", f.Name(), err)
	}
	return ro, hex.EncodeToString(h.Sum(nil)), nil
}
