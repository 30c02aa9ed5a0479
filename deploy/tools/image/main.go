// Command image assembles the Switchboard container image without a
// container daemon (go-containerregistry, onto an empty base): the static
// host binaries, the example plugins, a passwd entry for a non-root user,
// and a config file; no shell, nothing else. Same inputs, same bytes: every
// timestamp is zero, every owner root, entries sorted. `make image` runs it.
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// User is the image's uid and gid.
const User = 65532

// Paths inside the image.
const (
	BinDir     = "usr/local/bin"
	PluginDir  = "usr/local/lib/switchboard/plugins"
	ConfigPath = "etc/switchboard/switchboard.hcl"
)

// defaultConfig serves the example plugins; the API key comes from the
// environment (or replace the file: the Helm chart mounts its own).
const defaultConfig = `listen     = ":8080"
plugin_dir = "/usr/local/lib/switchboard/plugins"
shutdown_delay = "5s"
inbound {
  api_key {
    keys = [env("SWITCHBOARD_API_KEY")]
  }
}
plugin "genesys-users" {
  connections = ["genesys"]
}
`

func main() {
	bin := flag.String("bin", "bin", "where the built switchboard, switchboard-sandbox and plugins/ are")
	out := flag.String("out", "bin/switchboard-image.tar", "the image archive to write (docker-archive, which podman and docker load)")
	tag := flag.String("tag", "switchboard:latest", "the image's name in the archive")
	flag.Parse()
	digest, err := build(*bin, *out, *tag)
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
	fmt.Printf("%s %s\n", *out, digest)
}

// entry is one file of the image's single layer.
type entry struct {
	name string
	mode int64
	body []byte // nil for a directory
}

func build(bin, out, tag string) (v1.Hash, error) {
	files := []entry{
		{BinDir + "/switchboard", 0o755, nil},
		{BinDir + "/switchboard-sandbox", 0o755, nil},
		{PluginDir + "/echo", 0o755, nil},
		{PluginDir + "/genesys-users", 0o755, nil},
	}
	for i := range files {
		src := filepath.Join(bin, filepath.Base(files[i].name))
		if filepath.Dir(files[i].name) == PluginDir {
			src = filepath.Join(bin, "plugins", filepath.Base(files[i].name))
		}
		b, err := os.ReadFile(src)
		if err != nil {
			return v1.Hash{}, fmt.Errorf("%w (run make build first)", err)
		}
		files[i].body = b
	}
	files = append(files,
		entry{ConfigPath, 0o644, []byte(defaultConfig)},
		entry{"etc/passwd", 0o644, []byte(fmt.Sprintf("root:x:0:0::/:/nonexistent\nswitchboard:x:%d:%d::/nonexistent:/nonexistent\nnobody:x:65534:65534::/nonexistent:/nonexistent\n", User, User))},
		entry{"etc/group", 0o644, []byte(fmt.Sprintf("root:x:0:\nswitchboard:x:%d:\nnogroup:x:65534:\n", User))},
	)
	dirs := map[string]int64{"tmp": 0o1777}
	for _, f := range files {
		for d := filepath.Dir(f.name); d != "."; d = filepath.Dir(d) {
			if _, ok := dirs[d]; !ok {
				dirs[d] = 0o755
			}
		}
	}
	for d, mode := range dirs {
		files = append(files, entry{d, mode, nil})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })

	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: f.mode, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
		if f.body == nil {
			h.Typeflag, h.Name = tar.TypeDir, f.name+"/"
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			return v1.Hash{}, err
		}
		if _, err := tw.Write(f.body); err != nil {
			return v1.Hash{}, err
		}
	}
	if err := tw.Close(); err != nil {
		return v1.Hash{}, err
	}
	raw := layer.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil })
	if err != nil {
		return v1.Hash{}, err
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		return v1.Hash{}, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return v1.Hash{}, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = "amd64", "linux"
	cf.Created = v1.Time{Time: time.Unix(0, 0).UTC()}
	cf.Config = v1.Config{
		User:         fmt.Sprintf("%d:%d", User, User),
		Entrypoint:   []string{"/" + BinDir + "/switchboard"},
		Cmd:          []string{"serve", "--config", "/" + ConfigPath},
		Env:          []string{"TMPDIR=/tmp", "PATH=/usr/local/bin"},
		WorkingDir:   "/",
		ExposedPorts: map[string]struct{}{"8080/tcp": {}},
		Labels:       map[string]string{"org.opencontainers.image.title": "switchboard"},
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return v1.Hash{}, err
	}
	ref, err := name.NewTag(tag)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := tarball.WriteToFile(out, ref, img); err != nil {
		return v1.Hash{}, err
	}
	return img.Digest()
}
