package atomicfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// Write creates or replaces path with what write produces: it writes to a
// temporary file in the same directory (.NAME.tmp-XXXX), syncs it, renames it
// over path and syncs the directory. A missing parent directory is created,
// as an output path such as reports/x.html expects. On any error the
// temporary file is removed and path is left as it was. Errors, including
// write's, are wrapped with "writing PATH".
func Write(path string, write func(w io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = write(f); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	// CreateTemp makes the file 0600; the result should read like any other
	// file the user writes.
	if err = os.Chmod(tmp, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	SyncDir(dir)
	return nil
}

// WriteBytes is Write of a byte slice.
func WriteBytes(path string, b []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// WriteJSON writes v to path as JSON indented by two spaces and ended by a
// newline, atomically as Write does.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return WriteBytes(path, append(b, '\n'))
}

// WriteDir creates or replaces the directory dir with what fill writes into
// a fresh temporary sibling (DIR.tmp-XXXX). After fill succeeds, every file
// in it is synced and it is renamed into place; an existing dir is first
// renamed aside (DIR.old-XXXXXXXX), then removed once the new one is in
// place. On any error the temporary directory is removed and an existing dir
// is left as it was. A crash leaves either the old or the new complete
// directory at dir, except for the instant between the two renames, when the
// old one survives as DIR.old-XXXXXXXX (see OldVersions). Concurrent writers
// of the same dir are not supported.
//
// fill's error is returned as it is, since it already says what failed;
// WriteDir's own are wrapped with "writing DIR".
func WriteDir(dir string, fill func(tmp string) error) (err error) {
	dir = filepath.Clean(dir)
	parent, base := filepath.Split(dir)
	if parent == "" {
		parent = "."
	}
	fail := func(err error) error { return fmt.Errorf("writing %s: %w", dir, err) }
	if st, err := os.Lstat(dir); err == nil && !st.IsDir() {
		return fail(errors.New("exists and is not a directory"))
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fail(err)
	}
	tmp, err := os.MkdirTemp(parent, base+".tmp-")
	if err != nil {
		return fail(err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err = os.Chmod(tmp, 0o755); err != nil {
		return fail(err)
	}
	if err = fill(tmp); err != nil {
		return err
	}
	if err = syncTree(tmp); err != nil {
		return fail(err)
	}
	if _, statErr := os.Lstat(dir); statErr != nil {
		if err = os.Rename(tmp, dir); err != nil {
			return fail(err)
		}
		SyncDir(parent)
		return nil
	}
	old := ""
	for range 100 {
		cand := filepath.Join(parent, fmt.Sprintf("%s.old-%08x", base, rand.Uint32()))
		if _, e := os.Lstat(cand); errors.Is(e, fs.ErrNotExist) {
			old = cand
			break
		}
	}
	if old == "" {
		return fail(errors.New("no free name to move the previous version aside"))
	}
	if err = os.Rename(dir, old); err != nil {
		return fail(fmt.Errorf("moving the previous version aside: %w", err))
	}
	if err = os.Rename(tmp, dir); err != nil {
		if e := os.Rename(old, dir); e != nil {
			return fail(fmt.Errorf("%w (and restoring the previous version from %s failed: %v)", err, old, e))
		}
		return fail(err)
	}
	SyncDir(parent)
	if err := os.RemoveAll(old); err != nil {
		return fail(fmt.Errorf("saved, but removing the previous version %s: %w", old, err))
	}
	return nil
}

// OldVersions lists the previous versions of dir that WriteDir moved aside
// and a crash left behind (DIR.old-*), so that a reader missing dir can say
// where its contents went.
func OldVersions(dir string) []string {
	old, _ := filepath.Glob(filepath.Clean(dir) + ".old-*")
	return old
}

// syncTree syncs every regular file and directory under root.
func syncTree(root string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !d.Type().IsRegular() {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		serr := f.Sync()
		cerr := f.Close()
		if serr != nil && !d.IsDir() {
			return serr
		}
		return cerr
	})
}

// SyncDir syncs a directory so that a rename in it is durable. Errors are
// ignored because some file systems cannot sync directories.
func SyncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
