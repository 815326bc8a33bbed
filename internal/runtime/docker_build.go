package runtime

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/pkg/jsonmessage"
)

// scratchDockerfile wraps a static Go binary. The nobody user keeps the
// server unprivileged even before capabilities are dropped.
const scratchDockerfile = `FROM scratch
COPY server /server
USER 65534:65534
ENTRYPOINT ["/server"]
`

// Build returns the image for spec: an image reference as it is (never
// pulled), or an image built from a Go module or a Dockerfile context and
// tagged matrix/<name>:<input hash>. An existing tag is reused.
func (d *Docker) Build(ctx context.Context, spec Spec) (Artifact, error) {
	if err := spec.checkSources(); err != nil {
		return Artifact{}, err
	}
	start := time.Now()
	var art Artifact
	var err error
	switch {
	case spec.Image != "":
		art, err = d.existingImage(ctx, spec)
	case spec.GoDir != "":
		art, err = d.buildGo(ctx, spec)
	case spec.Dockerfile != "":
		art, err = d.buildDockerfile(ctx, spec)
	default:
		err = fmt.Errorf("runtime: server %s: the docker runtime needs build.go, build.dockerfile or image", spec.Name)
	}
	art.BuildDuration = time.Since(start)
	return art, err
}

// existingImage looks up spec.Image in the engine.
func (d *Docker) existingImage(ctx context.Context, spec Spec) (Artifact, error) {
	art, ok, err := d.lookup(ctx, spec.Image)
	if err != nil {
		return Artifact{}, fmt.Errorf("runtime: server %s: %w", spec.Name, err)
	}
	if !ok {
		return Artifact{}, fmt.Errorf("runtime: server %s: image %q is not in the engine at %s, and images are never pulled: %w",
			spec.Name, spec.Image, d.endpoint, art.err)
	}
	art.Artifact.Tag = spec.Image
	art.Artifact.Reused = true
	return art.Artifact, nil
}

// lookedUp is the result of looking an image up.
type lookedUp struct {
	Artifact
	err error // the engine's not-found error
}

// lookup inspects ref; ok is false when the engine has no such image.
func (d *Docker) lookup(ctx context.Context, ref string) (lookedUp, bool, error) {
	img, err := d.cli.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		return lookedUp{err: err}, false, nil
	}
	if err != nil {
		return lookedUp{}, false, fmt.Errorf("inspect image %q at %s: %w", ref, d.endpoint, err)
	}
	return lookedUp{Artifact: Artifact{
		Ref:  img.ID,
		Hash: img.Config.Labels[LabelInputs],
		Info: map[string]string{
			"image":      ref,
			"image-id":   img.ID,
			"image-size": strconv.FormatInt(img.Size, 10),
			"created":    img.Created,
		},
	}}, true, nil
}

// buildGo compiles spec.GoDir for the engine's architecture and builds a
// FROM-scratch image around the binary, unless the tag already exists.
func (d *Docker) buildGo(ctx context.Context, spec Spec) (Artifact, error) {
	dir, err := resolve(spec.Dir, spec.GoDir)
	if err != nil {
		return Artifact{}, err
	}
	srcHash, err := d.gb.inputHash(ctx, dir, "linux", d.arch)
	if err != nil {
		return Artifact{}, err
	}
	hash := hashStrings("go-image-v1", srcHash, scratchDockerfile)
	tag := imageTag(spec.Name, hash)
	if art, ok, err := d.lookup(ctx, tag); err != nil || ok {
		art.Tag, art.Reused = tag, true
		return art.Artifact, err
	}
	bin, _, _, err := d.gb.build(ctx, spec.Name, dir, "linux", d.arch)
	if err != nil {
		return Artifact{}, err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeGoContext(pw, bin)) }()
	return d.imageBuild(ctx, spec, pr, tag, hash)
}

// writeGoContext writes the build context of a Go server: the Dockerfile and
// the binary.
func writeGoContext(w io.Writer, bin string) error {
	tw := tar.NewWriter(w)
	df := []byte(scratchDockerfile)
	if err := tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(df))}); err != nil {
		return err
	}
	if _, err := tw.Write(df); err != nil {
		return err
	}
	f, err := os.Open(bin)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: "server", Mode: 0o755, Size: fi.Size()}); err != nil {
		return err
	}
	if _, err := io.Copy(tw, f); err != nil {
		return err
	}
	return tw.Close()
}

// buildDockerfile builds the context directory spec.Dockerfile, unless an
// image with the same input hash is tagged already.
func (d *Docker) buildDockerfile(ctx context.Context, spec Spec) (Artifact, error) {
	dir, err := resolve(spec.Dir, spec.Dockerfile)
	if err != nil {
		return Artifact{}, err
	}
	if _, err := os.Stat(filepath.Join(dir, "Dockerfile")); err != nil {
		return Artifact{}, fmt.Errorf("runtime: server %s: build.dockerfile %s: %w", spec.Name, dir, err)
	}
	hash, err := treeHash(dir, "dockerfile-image-v1")
	if err != nil {
		return Artifact{}, err
	}
	tag := imageTag(spec.Name, hash)
	if art, ok, err := d.lookup(ctx, tag); err != nil || ok {
		art.Tag, art.Reused = tag, true
		return art.Artifact, err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeDirContext(pw, dir)) }()
	return d.imageBuild(ctx, spec, pr, tag, hash)
}

// writeDirContext writes dir as a tar build context.
func writeDirContext(w io.Writer, dir string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		link := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// imageBuild sends a build context to the engine's classic builder (which
// needs no registry for FROM scratch or a local base image) and returns the
// tagged image.
func (d *Docker) imageBuild(ctx context.Context, spec Spec, buildCtx io.ReadCloser, tag, hash string) (Artifact, error) {
	defer buildCtx.Close()
	resp, err := d.cli.ImageBuild(ctx, buildCtx, build.ImageBuildOptions{
		Tags:        []string{tag},
		Dockerfile:  "Dockerfile",
		Remove:      true,
		ForceRemove: true,
		PullParent:  false,
		Version:     build.BuilderV1,
		Labels:      map[string]string{LabelServer: spec.Name, LabelInputs: hash},
	})
	if err != nil {
		return Artifact{}, fmt.Errorf("runtime: build image %s at %s: %w", tag, d.endpoint, err)
	}
	out, err := readBuildStream(resp.Body)
	resp.Body.Close()
	if err != nil {
		return Artifact{}, fmt.Errorf("runtime: build image %s: %w\n%s", tag, err, lastBytes(out, 4096))
	}
	art, ok, err := d.lookup(ctx, tag)
	if err == nil && !ok {
		err = fmt.Errorf("runtime: build image %s: the engine reported success but has no such tag", tag)
	}
	art.Tag = tag
	return art.Artifact, err
}

// readBuildStream reads the engine's JSON build messages, returning the
// build's output and the error the engine reported, if any.
func readBuildStream(r io.Reader) (string, error) {
	var out strings.Builder
	dec := json.NewDecoder(r)
	for {
		var m jsonmessage.JSONMessage
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return out.String(), nil
			}
			return out.String(), fmt.Errorf("reading build output: %w", err)
		}
		out.WriteString(m.Stream)
		if m.Error != nil {
			return out.String(), errors.New(strings.TrimSpace(m.Error.Message))
		}
		if out.Len() > 1<<20 { // keep the end: that is where errors are
			s := lastBytes(out.String(), 64<<10)
			out.Reset()
			out.WriteString(s)
		}
	}
}

// imageTag returns matrix/<name>:<first 16 hex digits of hash>.
func imageTag(name, hash string) string {
	return "matrix/" + name + ":" + hash[:16]
}

// hashStrings hashes its arguments like treeHash hashes salt.
func hashStrings(parts ...string) string {
	var b bytes.Buffer
	for _, p := range parts {
		fmt.Fprintf(&b, "%q\n", p)
	}
	return sha256Hex(b.Bytes())
}
