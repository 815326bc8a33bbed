package runtime

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
)

// Where a container finds its certificate. The directory is created by the
// copy itself, so it exists in any image, FROM scratch included; it is not
// under /tmp, whose tmpfs is mounted at start and would hide it.
const (
	containerTLSDir = "/matrix-tls"
	certName        = "cert.pem"
	keyName         = "key.pem"
)

// containerTLSPath returns the path of a TLS file inside the container, or
// "" for a cleartext cell.
func containerTLSPath(opts StartOptions, name string) string {
	if opts.TLS == nil {
		return ""
	}
	return path.Join(containerTLSDir, name)
}

// copyTLS puts the cell's certificate and key into the created container
// before it starts.
//
// The files are copied with the Engine API (PUT /containers/{id}/archive)
// rather than bind-mounted: a bind mount would have to make the host
// directory readable by the container's user, which on the host is some
// other uid (nobody), so the key would be readable by every process of
// that uid on the host. A copy lives in the container's own filesystem
// only: a directory of mode 0700 and files of mode 0400 owned by the
// container's user (the tar headers carry owner and mode, which the engine
// applies when it extracts), removed with the container.
func (d *Docker) copyTLS(ctx context.Context, id string, files *TLSFiles) error {
	if files == nil {
		return nil
	}
	uid, gid, err := d.containerUser(ctx, id)
	if err != nil {
		return fmt.Errorf("TLS files: %w", err)
	}
	cert, err := os.ReadFile(files.CertPath)
	if err != nil {
		return fmt.Errorf("TLS files: %w", err)
	}
	key, err := os.ReadFile(files.KeyPath)
	if err != nil {
		return fmt.Errorf("TLS files: %w", err)
	}
	archive, err := tlsArchive(uid, gid, cert, key)
	if err != nil {
		return fmt.Errorf("TLS files: %w", err)
	}
	if err := d.cli.CopyToContainer(ctx, id, "/", archive, container.CopyToContainerOptions{}); err != nil {
		return fmt.Errorf("copying the TLS files into the container: %w", err)
	}
	return nil
}

// tlsArchive returns a tar stream of the TLS directory and its two files,
// owned by uid:gid.
func tlsArchive(uid, gid int, cert, key []byte) (io.Reader, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	dir := strings.TrimPrefix(containerTLSDir, "/")
	entries := []struct {
		hdr  tar.Header
		body []byte
	}{
		{tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o700}, nil},
		{tar.Header{Typeflag: tar.TypeReg, Name: dir + "/" + certName, Mode: 0o400}, cert},
		{tar.Header{Typeflag: tar.TypeReg, Name: dir + "/" + keyName, Mode: 0o400}, key},
	}
	for _, e := range entries {
		h := e.hdr
		h.Uid, h.Gid, h.ModTime, h.Size = uid, gid, now, int64(len(e.body))
		if err := tw.WriteHeader(&h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return &buf, nil
}

// containerUser returns the numeric user and group the container's
// process runs as: its configured user (the image's USER unless the
// container overrides it), with names looked up in the container's own
// /etc/passwd and /etc/group, as the engine does when it starts it.
func (d *Docker) containerUser(ctx context.Context, id string) (int, int, error) {
	ins, err := d.cli.ContainerInspect(ctx, id)
	if err != nil {
		return 0, 0, fmt.Errorf("inspecting the container: %w", err)
	}
	spec := ""
	if ins.Config != nil {
		spec = ins.Config.User
	}
	user, group, hasGroup := strings.Cut(spec, ":")
	if user == "" {
		return 0, 0, nil // root
	}
	uid, gid, err := d.lookupID(ctx, id, "/etc/passwd", user, true)
	if err != nil {
		return 0, 0, err
	}
	if hasGroup {
		if gid, _, err = d.lookupID(ctx, id, "/etc/group", group, false); err != nil {
			return 0, 0, err
		}
	}
	return uid, gid, nil
}

// lookupID resolves name in the container's passwd (id and primary group) or
// group file (id). A number needs no file; a passwd number that has no
// entry keeps itself as its group, as the engine's default does.
func (d *Docker) lookupID(ctx context.Context, id, file, name string, passwd bool) (int, int, error) {
	n, numErr := strconv.Atoi(name)
	lines, err := d.readContainerFile(ctx, id, file)
	if err != nil && numErr == nil {
		return n, n, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("user %q: %w", name, err)
	}
	for _, line := range lines {
		f := strings.Split(line, ":")
		if len(f) < 3 || (f[0] != name && f[2] != name) {
			continue
		}
		id, err := strconv.Atoi(f[2])
		if err != nil {
			continue
		}
		if !passwd {
			return id, 0, nil
		}
		if len(f) < 4 {
			return id, id, nil
		}
		gid, err := strconv.Atoi(f[3])
		if err != nil {
			gid = id
		}
		return id, gid, nil
	}
	if numErr == nil {
		return n, n, nil
	}
	return 0, 0, fmt.Errorf("user or group %q is not in the container's %s", name, file)
}

// readContainerFile returns the lines of a small file of the created
// container.
func (d *Docker) readContainerFile(ctx context.Context, id, file string) ([]string, error) {
	rc, _, err := d.cli.CopyFromContainer(ctx, id, file)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	if _, err := tr.Next(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	var lines []string
	sc := bufio.NewScanner(io.LimitReader(tr, 1<<20))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	if len(lines) == 0 {
		return nil, errors.New(file + " is empty")
	}
	return lines, nil
}
