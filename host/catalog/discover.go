package catalog

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// Binary is a plugin executable found in the plugins directory.
type Binary struct {
	// Name is the file name; config blocks `plugin "NAME"` refer to it.
	Name string
	// Path is absolute and inside the plugins directory.
	Path string
	// SHA256 (hex) is set by Verify, which reads the file; discovery does not.
	SHA256 string
	Size   int64
	// Stamp identifies this version of the file without reading it.
	Stamp Stamp
}

// Stamp is what tells one version of a file from another without reading
// it: a replaced file has another inode, a rewritten one another size or
// modification time, a chmod or chown another change time.
type Stamp struct {
	Dev, Ino     uint64
	Size         int64
	Mtime, Ctime int64 // ns
}

func stampOf(fi fs.FileInfo) Stamp {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return Stamp{Size: fi.Size(), Mtime: fi.ModTime().UnixNano()}
	}
	return Stamp{Dev: uint64(st.Dev), Ino: st.Ino, Size: st.Size,
		Mtime: st.Mtim.Sec*1e9 + st.Mtim.Nsec, Ctime: st.Ctim.Sec*1e9 + st.Ctim.Nsec}
}

// Discover lists the plugin binaries in dir, sorted by name: regular files
// with an execute bit. Symbolic links, directories and other files are
// skipped with a reason; hidden files (a leading '.', as in-progress copies
// use) are skipped silently. Every path stays inside dir.
func Discover(dir string) ([]Binary, []Problem, error) {
	abs, err := resolveDir(dir)
	if err != nil {
		return nil, nil, err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, nil, fmt.Errorf("plugins directory: %w", err)
	}
	if fi.Mode().Perm()&0o002 != 0 && !readOnlyPath(abs) {
		return nil, nil, fmt.Errorf("plugins directory %s is writable by others: anyone could drop a plugin in it (chmod o-w %s)", abs, abs)
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return nil, nil, fmt.Errorf("plugins directory: %w", err)
	}
	var (
		bins    []Binary
		skipped []Problem
	)
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		bin, err := inspect(abs, name)
		if err != nil {
			skipped = append(skipped, Problem{Plugin: name, Err: err})
			continue
		}
		bins = append(bins, bin)
	}
	sort.Slice(bins, func(i, j int) bool { return bins[i].Name < bins[j].Name })
	return bins, skipped, nil
}

// resolveDir makes the plugins directory absolute, through symbolic links.
func resolveDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("plugins directory %q: %w", dir, err)
	}
	if abs, err = filepath.EvalSymlinks(abs); err != nil {
		return "", fmt.Errorf("plugins directory: %w", err)
	}
	return abs, nil
}

// inspect checks one directory entry of the resolved directory dir, without
// reading it: Verify reads it once, when it is started.
func inspect(dir, name string) (Binary, error) {
	if !validName(name) {
		return Binary{}, fmt.Errorf("skipped: a plugin file name holds only letters, digits, '.', '-' and '_'")
	}
	path := filepath.Join(dir, name)
	if filepath.Dir(path) != dir {
		return Binary{}, fmt.Errorf("skipped: path %q leaves the plugins directory", path)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return Binary{}, err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return Binary{}, fmt.Errorf("skipped: symbolic links are not followed; copy the binary into the plugins directory")
	}
	if err := checkExecutable(fi, readOnlyPath(path)); err != nil {
		return Binary{}, err
	}
	return Binary{Name: name, Path: path, Size: fi.Size(), Stamp: stampOf(fi)}, nil
}

// FileSHA256 returns the hex SHA-256 of a file's content.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hashing %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func validName(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
