package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// names lists the entries of dir.
func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func TestWrite(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		write   func(w io.Writer) error
		want    string // contents after the call
		wantErr error
	}{
		{"replaces", func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }, "new", nil},
		{"failed write keeps the old file", func(w io.Writer) error { io.WriteString(w, "partial"); return boom }, "old", boom},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "f.txt")
			if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
				t.Fatal(err)
			}
			err := Write(path, tc.write)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name %s", err, path)
			}
			b, _ := os.ReadFile(path)
			if string(b) != tc.want {
				t.Errorf("contents %q, want %q", b, tc.want)
			}
			if n := names(t, dir); len(n) != 1 {
				t.Errorf("temporary files left behind: %v", n)
			}
			st, _ := os.Stat(path)
			if st.Mode().Perm() != 0o644 {
				t.Errorf("mode %v, want 0644", st.Mode().Perm())
			}
		})
	}
}

func TestWriteMakesDirectories(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a", "b", "x.json")
	if err := WriteJSON(path, map[string]float64{"x": 1.5}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if got, want := string(b), "{\n  \"x\": 1.5\n}\n"; got != want {
		t.Errorf("WriteJSON wrote %q, want %q", got, want)
	}
	// Under a regular file nothing can be made.
	if err := WriteBytes(filepath.Join(path, "y"), nil); err == nil {
		t.Error("writing under a regular file succeeded")
	}
}

func TestWriteDir(t *testing.T) {
	boom := errors.New("boom")
	fillWith := func(content string, err error) func(string) error {
		return func(tmp string) error {
			if e := os.WriteFile(filepath.Join(tmp, "f"), []byte(content), 0o644); e != nil {
				return e
			}
			return err
		}
	}
	tests := []struct {
		name     string
		existing bool
		fill     func(string) error
		want     string // contents of dir/f afterwards ("" for no dir)
		wantErr  error
	}{
		{"new", false, fillWith("new", nil), "new", nil},
		{"replaces", true, fillWith("new", nil), "new", nil},
		{"failed fill keeps the old dir", true, fillWith("new", boom), "old", boom},
		{"failed fill leaves nothing", false, fillWith("new", boom), "", boom},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "ckpt")
			if tc.existing {
				if err := os.Mkdir(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "f"), []byte("old"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			err := WriteDir(dir, tc.fill)
			if err != tc.wantErr && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			b, _ := os.ReadFile(filepath.Join(dir, "f"))
			if string(b) != tc.want {
				t.Errorf("contents %q, want %q", b, tc.want)
			}
			n := names(t, parent)
			if tc.want == "" && len(n) != 0 || tc.want != "" && (len(n) != 1 || n[0] != "ckpt") {
				t.Errorf("parent holds %v", n)
			}
			if old := OldVersions(dir); len(old) != 0 {
				t.Errorf("previous versions left behind: %v", old)
			}
		})
	}
}

func TestWriteDirOverFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x")
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := WriteDir(path, func(string) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("err = %v, want not a directory", err)
	}
}
