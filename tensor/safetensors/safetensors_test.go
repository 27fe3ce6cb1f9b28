package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mechinterp/mechinterp/tensor"
)

// rawFile builds a safetensors file from a literal header and data buffer.
func rawFile(header string, data []byte) []byte {
	var b bytes.Buffer
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(header)))
	b.Write(n[:])
	b.WriteString(header)
	b.Write(data)
	return b.Bytes()
}

func f32bytes(vs ...float32) []byte {
	b := make([]byte, 4*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

func encode(t testing.TB, ts map[string]*tensor.Tensor, meta map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Encode(&b, ts, meta); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func sameTensors(t *testing.T, want, got map[string]*tensor.Tensor) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("got %d tensors, want %d", len(got), len(want))
	}
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Fatalf("missing tensor %q", name)
		}
		if !g.SameShape(w.Shape) {
			t.Fatalf("%s: shape %v, want %v", name, g.Shape, w.Shape)
		}
		for i := range w.Data {
			if math.Float32bits(w.Data[i]) != math.Float32bits(g.Data[i]) {
				t.Fatalf("%s[%d] = %v, want %v", name, i, g.Data[i], w.Data[i])
			}
		}
	}
}

func TestRoundTrip(t *testing.T) {
	big := tensor.New(3, 700, 200) // larger than one read chunk
	for i := range big.Data {
		big.Data[i] = float32(i%977) * 0.001
	}
	cases := []struct {
		name    string
		tensors map[string]*tensor.Tensor
		meta    map[string]string
	}{
		{"empty", map[string]*tensor.Tensor{}, nil},
		{"one", map[string]*tensor.Tensor{"a": tensor.View([]float32{1, 2, 3, 4, 5, 6}, 2, 3)}, nil},
		{"meta", map[string]*tensor.Tensor{"x": tensor.View([]float32{-1}, 1)}, map[string]string{"format": "pt", "k": "v \"quoted\""}},
		{"scalar and zero-size", map[string]*tensor.Tensor{"s": tensor.View([]float32{7}), "z": tensor.New(0, 5), "w": tensor.View([]float32{1, 2}, 2)}, nil},
		{"specials", map[string]*tensor.Tensor{"sp": tensor.View([]float32{float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), -0.0, math.SmallestNonzeroFloat32, math.MaxFloat32}, 6)}, nil},
		{"big", map[string]*tensor.Tensor{"big": big, "h.0.attn.c_attn.weight": tensor.New(4, 12), "unicode é": tensor.New(2)}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "m.safetensors")
			if err := Write(path, c.tensors, c.meta); err != nil {
				t.Fatal(err)
			}
			got, meta, err := Read(path)
			if err != nil {
				t.Fatal(err)
			}
			sameTensors(t, c.tensors, got)
			if len(meta) != len(c.meta) {
				t.Fatalf("meta %v, want %v", meta, c.meta)
			}
			for k, v := range c.meta {
				if meta[k] != v {
					t.Fatalf("meta %v, want %v", meta, c.meta)
				}
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if n := binary.LittleEndian.Uint64(raw); n%8 != 0 {
				t.Errorf("header length %d not a multiple of 8", n)
			}
			got2, _, err := Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			sameTensors(t, c.tensors, got2)
			got3, _, err := ReadFrom(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			sameTensors(t, c.tensors, got3)
			// Deterministic bytes.
			if !bytes.Equal(raw, encode(t, c.tensors, c.meta)) {
				t.Error("encoding is not deterministic")
			}
		})
	}
}

func TestHeaderLayout(t *testing.T) {
	b := encode(t, map[string]*tensor.Tensor{"b": tensor.New(1), "a": tensor.New(2, 1)}, map[string]string{"format": "pt"})
	n := binary.LittleEndian.Uint64(b)
	hdr := string(b[8 : 8+n])
	want := `{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,1],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`
	if strings.TrimRight(hdr, " ") != want {
		t.Fatalf("header\n%s\nwant\n%s", hdr, want)
	}
	path := filepath.Join(t.TempDir(), "h.safetensors")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	info, err := ReadHeader(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(info.Names(), ","); got != "a,b" {
		t.Fatalf("names %s", got)
	}
	e, ok := info.Entry("a")
	if !ok || e.DType != "F32" || tensor.ShapeString(e.Shape) != "[2,1]" || e.Begin != 0 || e.End != 8 {
		t.Fatalf("entry a = %+v", e)
	}
	if _, ok := info.Entry("c"); ok {
		t.Fatal("entry c found")
	}
	if info.Metadata["format"] != "pt" {
		t.Fatalf("metadata %v", info.Metadata)
	}
}

func TestDTypes(t *testing.T) {
	f16 := []uint16{0x3c00, 0xc000, 0x0000, 0x8000, 0x7c00, 0xfc00, 0x0001, 0x03ff, 0x7bff, 0x3555}
	want16 := []float32{1, -2, 0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), 5.960464477539063e-08, 6.097555160522461e-05, 65504, 0.333251953125}
	var d16 []byte
	for _, h := range f16 {
		d16 = binary.LittleEndian.AppendUint16(d16, h)
	}
	var dbf []byte
	wantBF := []float32{1, -2.5, 3.140625}
	for _, v := range wantBF {
		dbf = binary.LittleEndian.AppendUint16(dbf, uint16(math.Float32bits(v)>>16))
	}
	var d64 []byte
	inf := float32(math.Inf(1))
	want64 := []float32{1.5, -1e-3, inf}
	for _, v := range []float64{1.5, -1e-3, 1e300} {
		d64 = binary.LittleEndian.AppendUint64(d64, math.Float64bits(v))
	}
	data := append(append(append([]byte{}, d16...), dbf...), d64...)
	h := fmt.Sprintf(`{"h":{"dtype":"F16","shape":[2,5],"data_offsets":[0,%d]},"b":{"dtype":"BF16","shape":[3],"data_offsets":[%d,%d]},"d":{"dtype":"F64","shape":[3],"data_offsets":[%d,%d]}}`,
		len(d16), len(d16), len(d16)+len(dbf), len(d16)+len(dbf), len(data))
	ts, _, err := Decode(rawFile(h, data))
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, want []float32) {
		for i, w := range want {
			if g := ts[name].Data[i]; math.Float32bits(g) != math.Float32bits(w) {
				t.Errorf("%s[%d] = %g, want %g", name, i, g, w)
			}
		}
	}
	check("h", want16)
	check("b", wantBF)
	check("d", want64)
	if nan := Float16ToFloat32(0x7e00); !math.IsNaN(float64(nan)) {
		t.Errorf("F16 NaN decoded as %v", nan)
	}
	// Every half value converts to the float32 with the same value.
	for h := 0; h < 1<<16; h++ {
		f := Float16ToFloat32(uint16(h))
		exp, mant := (h>>10)&0x1f, h&0x3ff
		var want float64
		switch {
		case exp == 0x1f:
			continue
		case exp == 0:
			want = math.Ldexp(float64(mant), -24)
		default:
			want = math.Ldexp(float64(mant|0x400), exp-25)
		}
		if h&0x8000 != 0 {
			want = -want
		}
		if float64(f) != want {
			t.Fatalf("F16 %#04x = %g, want %g", h, f, want)
		}
	}
}

func TestBadInput(t *testing.T) {
	ok := `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`
	d8 := f32bytes(1, 2)
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"empty", nil, "truncated"},
		{"short length", []byte{1, 2, 3}, "truncated"},
		{"header past end", rawFile(ok, d8)[:20], "runs past the end"},
		{"huge header length", append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, make([]byte, 16)...), "runs past the end"},
		{"truncated data", rawFile(ok, d8[:4]), "run past the data buffer"},
		{"not json", rawFile("hello", nil), "does not start with '{'"},
		{"bad json", rawFile(`{"a":`, nil), "bad JSON"},
		{"trailing garbage", rawFile(`{}x`, nil), "bad JSON"},
		{"json array", rawFile(`[]`, nil), "does not start with '{'"},
		{"invalid utf8", rawFile("{\"\xff\":1}", nil), "UTF-8"},
		{"unknown dtype", rawFile(`{"a":{"dtype":"F128","shape":[2],"data_offsets":[0,8]}}`, d8), `tensor "a": unknown dtype`},
		{"unsupported dtype", rawFile(`{"a":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}}`, d8), `tensor "a" has dtype I32`},
		{"shape mismatch", rawFile(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, d8), `tensor "a": shape [3] of F32 needs 12 bytes`},
		{"negative dim", rawFile(`{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, d8), "negative dimension"},
		{"absurd shape", rawFile(`{"a":{"dtype":"F32","shape":[1000000000,1000000000,1000000000],"data_offsets":[0,8]}}`, d8), "more than"},
		{"overflowing shape", rawFile(`{"a":{"dtype":"F32","shape":[2,1000000000000000000],"data_offsets":[0,8]}}`, d8), "absurd dimension"},
		{"fractional dim", rawFile(`{"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}`, d8), "bad entry"},
		{"missing field", rawFile(`{"a":{"dtype":"F32","shape":[2]}}`, d8), "needs dtype, shape and data_offsets"},
		{"unknown field", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}}`, d8), "bad entry"},
		{"entry not object", rawFile(`{"a":3}`, nil), "bad entry"},
		{"three offsets", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}}`, d8), "[begin,end]"},
		{"reversed offsets", rawFile(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}`, d8), "bad data_offsets"},
		{"negative offsets", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}`, d8), "bad data_offsets"},
		{"out of range", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}`, d8), "run past the data buffer"},
		{"overlap", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, d8), "overlaps"},
		{"gap", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, d8), "gap"},
		{"trailing bytes", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, d8), "trailing bytes"},
		{"duplicate", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, d8), `duplicate entry "a"`},
		{"bad metadata", rawFile(`{"__metadata__":{"k":1}}`, nil), "__metadata__"},
		{"null metadata", rawFile(`{"__metadata__":null}`, nil), "__metadata__"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Decode(c.file)
			if err == nil {
				t.Fatalf("no error, want %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q, want it to contain %q", err, c.want)
			}
			// From a file, the error names the file.
			path := filepath.Join(t.TempDir(), "bad.safetensors")
			if err := os.WriteFile(path, c.file, 0o644); err != nil {
				t.Fatal(err)
			}
			_, _, err = Read(path)
			if err == nil || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %v does not name %s", err, path)
			}
		})
	}
}

func TestMissingFile(t *testing.T) {
	_, _, err := Read(filepath.Join(t.TempDir(), "nope.safetensors"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("error %v, want ErrNotExist", err)
	}
	if _, err := ReadHeader(t.TempDir()); err == nil {
		t.Fatal("reading a directory succeeded")
	}
}

func TestReadInto(t *testing.T) {
	b := encode(t, map[string]*tensor.Tensor{"a": tensor.View([]float32{1, 2, 3}, 3)}, nil)
	s, err := NewReader(bytes.NewReader(b), int64(len(b)), "x")
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]float32, 3)
	if err := s.ReadInto("a", dst); err != nil || dst[2] != 3 {
		t.Fatalf("ReadInto: %v %v", dst, err)
	}
	if err := s.ReadInto("a", make([]float32, 2)); err == nil {
		t.Fatal("ReadInto with a short destination succeeded")
	}
	if err := s.ReadInto("b", dst); err == nil {
		t.Fatal("ReadInto of a missing tensor succeeded")
	}
	// A source that shrinks after the header was validated.
	s2, err := NewReader(bytes.NewReader(b[:len(b)-4]), int64(len(b)), "shrunk")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Tensor("a"); err == nil || !strings.Contains(err.Error(), `reading tensor "a"`) {
		t.Fatalf("reading a shrunk source: %v", err)
	}
}

func TestWriteErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	good := map[string]*tensor.Tensor{"a": tensor.View([]float32{1}, 1)}
	if err := Write(path, good, nil); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	bad := []map[string]*tensor.Tensor{
		{"a": nil},
		{"a": {Shape: []int{2}, Data: []float32{1}}},
		{"a": {Shape: []int{-1}, Data: nil}},
		{"__metadata__": tensor.New(1)},
		{"": tensor.New(1)},
	}
	for i, ts := range bad {
		if err := Write(path, ts, nil); err == nil {
			t.Errorf("case %d: no error", i)
		}
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatal("a failed write changed the file")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
	// A missing directory is made; a path under a regular file is an error.
	if err := Write(filepath.Join(dir, "new", "dir", "w.safetensors"), good, nil); err != nil {
		t.Fatalf("writing into a missing directory: %v", err)
	}
	if err := Write(filepath.Join(path, "w.safetensors"), good, nil); err == nil {
		t.Fatal("writing under a regular file succeeded")
	}
}

func seedFiles(f *testing.F) {
	f.Add(rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, f32bytes(1, 2)))
	f.Add(rawFile(`{"__metadata__":{"format":"pt"},"a":{"dtype":"F16","shape":[1,2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[],"data_offsets":[4,6]}}`, []byte{0, 0x3c, 1, 0, 0x80, 0x3f}))
	f.Add(rawFile(`{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"z":{"dtype":"F32","shape":[0,3],"data_offsets":[8,8]}}`, make([]byte, 8)))
	f.Add(rawFile(`{"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}`, make([]byte, 8)))
	f.Add(rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)))
	f.Add(rawFile(`{"a":{"dtype":"F32","shape":[9999999999,9999999999],"data_offsets":[0,8]}}`, make([]byte, 8)))
	f.Add(rawFile(`{}`, nil))
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, '{', '}'})
	var b bytes.Buffer
	Encode(&b, map[string]*tensor.Tensor{"w": tensor.View([]float32{1, 2, 3, 4}, 2, 2), "b": tensor.View([]float32{5}, 1)}, map[string]string{"k": "v"})
	f.Add(b.Bytes())
}

// FuzzRead checks that the reader never panics, and that whatever
// it accepts survives an F32 re-encoding unchanged.
func FuzzRead(f *testing.F) {
	seedFiles(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		ts, meta, err := Decode(data)
		if err != nil {
			return
		}
		var b bytes.Buffer
		if err := Encode(&b, ts, meta); err != nil {
			t.Fatalf("re-encoding accepted input: %v", err)
		}
		ts2, meta2, err := Decode(b.Bytes())
		if err != nil {
			t.Fatalf("decoding our own encoding: %v", err)
		}
		sameTensors(t, ts, ts2)
		if len(meta) != len(meta2) {
			t.Fatalf("metadata %v became %v", meta, meta2)
		}
	})
}

func ExampleWrite() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "acts.safetensors")
	w := tensor.View([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	if err := Write(path, map[string]*tensor.Tensor{"w": w}, map[string]string{"format": "pt"}); err != nil {
		fmt.Println(err)
		return
	}
	info, _ := ReadHeader(path) // names and shapes, no data read
	e, _ := info.Entry("w")
	fmt.Println(e.Name, e.DType, tensor.ShapeString(e.Shape))
	ts, meta, _ := Read(path)
	fmt.Println(ts["w"].At(1, 2), meta["format"])
	// Output:
	// w F32 [2,3]
	// 6 pt
}

// TestCountMembers: the allocation-free count of a header's entries is not fooled by
// commas, braces or escaped quotes inside names and nested values.
func TestCountMembers(t *testing.T) {
	for hdr, want := range map[string]int{
		`{}`:  0,
		`{ }`: 0,
		`{"a":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]}}`:                         1,
		`{"a,b":{"shape":[1,2]},"c{":[1,{"x":2}],"d\",\"":"}","__metadata__":{"k":"v,w"}}`: 4,
		`{"\\":1,"e":2}`: 2,
	} {
		if got := countMembers([]byte(hdr)); got != want {
			t.Errorf("countMembers(%s) = %d, want %d", hdr, got, want)
		}
	}
}

// TestOpenLimited: a header of more entries, or more bytes, than the caller expects is
// refused before its entries are parsed; one within the limit opens.
func TestOpenLimited(t *testing.T) {
	dir := t.TempDir()
	three := filepath.Join(dir, "three.safetensors")
	if err := Write(three, map[string]*tensor.Tensor{"a": tensor.New(1), "b": tensor.New(2), "c": tensor.New(3)}, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	if f, err := OpenLimited(three, 3); err != nil {
		t.Errorf("3 tensors, limit 3: %v", err)
	} else {
		f.Close()
	}
	if _, err := OpenLimited(three, 2); err == nil || !strings.Contains(err.Error(), "header holds 4 entries, more than the 2 tensors expected") {
		t.Errorf("3 tensors, limit 2: %v", err)
	}
	long := filepath.Join(dir, "long.safetensors")
	meta := map[string]string{"pad": strings.Repeat("x", MetadataHeaderBytes+2*EntryHeaderBytes)}
	if err := Write(long, map[string]*tensor.Tensor{"a": tensor.New(1)}, meta); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenLimited(long, 1); err == nil || !strings.Contains(err.Error(), "more than 1 expected tensors need") {
		t.Errorf("a header longer than its budget: %v", err)
	}
}
