package safetensors

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"

	"github.com/mechinterp/mechinterp/internal/atomicfile"
	"github.com/mechinterp/mechinterp/tensor"
)

// MaxHeader is the largest header accepted, as in the reference
// implementation (100 MB).
const MaxHeader = 100_000_000

// metaKey is the reserved header key holding string metadata.
const metaKey = "__metadata__"

// dtypeSizes gives the element size in bytes of every dtype the format defines.
var dtypeSizes = map[string]int{
	"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1,
	"I16": 2, "U16": 2, "F16": 2, "BF16": 2,
	"I32": 4, "U32": 4, "F32": 4,
	"I64": 8, "U64": 8, "F64": 8,
}

// Entry describes one tensor of a safetensors file as its header
// states it. Begin and End are byte offsets into the data buffer.
type Entry struct {
	Name  string
	DType string
	Shape []int
	Begin int64
	End   int64
}

// Numel is the number of elements the entry holds.
func (e Entry) Numel() int { return tensor.Numel(e.Shape) }

// Convertible reports whether the entry's dtype can be read as float32
// (F32, F16, BF16 and F64).
func (e Entry) Convertible() bool {
	switch e.DType {
	case "F32", "F16", "BF16", "F64":
		return true
	}
	return false
}

// Header is a validated safetensors header: every entry, sorted by
// name, and the metadata.
type Header struct {
	Entries  []Entry
	Metadata map[string]string
	// DataStart is the file offset of the data buffer (8 + header length).
	DataStart int64
	// Size is the size of the whole file in bytes.
	Size int64
}

// Entry returns the entry of the named tensor.
func (h *Header) Entry(name string) (Entry, bool) {
	i, ok := slices.BinarySearchFunc(h.Entries, name, func(e Entry, n string) int { return strings.Compare(e.Name, n) })
	if !ok {
		return Entry{}, false
	}
	return h.Entries[i], true
}

// Names returns the tensor names in sorted order.
func (h *Header) Names() []string {
	names := make([]string, len(h.Entries))
	for i, e := range h.Entries {
		names[i] = e.Name
	}
	return names
}

// File reads tensors one at a time from a validated safetensors
// source, so that a caller can place each tensor straight into its own
// storage and keep peak memory near the size of the weights.
type File struct {
	Header
	name   string // file name used in errors
	r      io.ReaderAt
	closer io.Closer
}

// Open opens and validates the header of a safetensors file.
// Tensors are read on demand; Close the file when done.
func Open(path string) (*File, error) { return OpenLimited(path, 0) }

// Limits on a header read by OpenLimited.
const (
	// EntryHeaderBytes is the header space allowed per expected entry: an
	// entry of a Hugging Face checkpoint takes about 100 bytes.
	EntryHeaderBytes = 1024
	// MetadataHeaderBytes is the header space allowed for __metadata__ on
	// top of the entries.
	MetadataHeaderBytes = 1 << 20
)

// OpenLimited is Open for a caller that knows how many tensors the file
// should hold (a model's config implies its tensor count): a header of more
// than maxEntries entries, or longer than maxEntries·EntryHeaderBytes +
// MetadataHeaderBytes, is refused before anything is built per entry, so
// that a small file of a million empty tensors cannot cost gigabytes to
// reject. maxEntries <= 0 means no limit beyond MaxHeader.
func OpenLimited(path string, maxEntries int) (*File, error) {
	// Stat before opening: opening a FIFO for reading blocks until a
	// writer comes, which may be never.
	if st, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	} else if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("safetensors: %s: not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("safetensors: %s: not a regular file", path)
	}
	info, err := readHeader(f, st.Size(), path, maxEntries)
	if err != nil {
		f.Close()
		return nil, err
	}
	s := &File{Header: *info, name: path, r: f, closer: f}
	return s, nil
}

// NewReader validates the header of a safetensors source of the
// given size; name labels errors (a file path, say). It checks that the
// header fits in the source, is a JSON object without duplicate names, that
// every dtype is known, every shape agrees with its byte range, and that the
// ranges tile the data buffer exactly (no gap, no overlap, nothing past the
// end). Nothing larger than the header is allocated.
func NewReader(r io.ReaderAt, size int64, name string) (*File, error) {
	info, err := readHeader(r, size, name, 0)
	if err != nil {
		return nil, err
	}
	return &File{Header: *info, name: name, r: r}, nil
}

// ReadHeader reads and validates only the header of a safetensors
// file, so that callers can check names and shapes before loading.
func ReadHeader(path string) (*Header, error) {
	s, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	info := s.Header
	return &info, nil
}

// Close releases the underlying file, if the reader owns one.
func (s *File) Close() error {
	if s.closer == nil {
		return nil
	}
	err := s.closer.Close()
	s.closer = nil
	return err
}

// Path is the name the reader uses in its errors.
func (s *File) Path() string { return s.name }

// readChunkBytes is the size of the buffer tensors are decoded through.
const readChunkBytes = 1 << 20

// chunkBufs are the buffers one stream call decodes through.
type chunkBufs struct {
	raw  []byte
	vals []float32
}

var chunkPool = sync.Pool{New: func() any {
	return &chunkBufs{raw: make([]byte, readChunkBytes), vals: make([]float32, readChunkBytes/2)}
}}

// ReadChunks streams the named tensor as float32, converting F16, BF16 and
// F64, calling fn with the flat index of the first value and a run of
// values. The slice passed to fn is reused between calls.
func (s *File) ReadChunks(name string, fn func(offset int, vals []float32) error) error {
	return s.stream(name, nil, fn)
}

// stream decodes the named tensor chunk by chunk, into dst when it is not
// nil (which must then hold every element), else into a reused buffer
// handed to fn.
func (s *File) stream(name string, dst []float32, fn func(offset int, vals []float32) error) error {
	e, ok := s.Entry(name)
	if !ok {
		return fmt.Errorf("safetensors: %s: no tensor %q", s.name, name)
	}
	if !e.Convertible() {
		return fmt.Errorf("safetensors: %s: tensor %q has dtype %s; only F32, F16, BF16 and F64 can be read as float32", s.name, name, e.DType)
	}
	es := int64(dtypeSizes[e.DType])
	total := e.End - e.Begin
	if dst != nil && e.DType == "F32" && littleEndian && total > 0 {
		// The file's bytes are the float32 values as this machine stores
		// them: read them straight into dst, with no buffer and no decoding
		// pass (a GPT-2 small checkpoint loads in about half the time).
		b := unsafe.Slice((*byte)(unsafe.Pointer(&dst[0])), total)
		if _, err := s.r.ReadAt(b, s.DataStart+e.Begin); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("safetensors: %s: reading tensor %q: %w", s.name, name, err)
		}
		return nil
	}
	chunk := min(total, readChunkBytes)
	chunk -= chunk % es
	// The chunk buffers come from a pool: a loader reading hundreds of
	// 16-bit tensors would otherwise leave megabytes of garbage per tensor,
	// which the collector lets grow to the size of the weights just loaded
	// before it runs (a Pythia-160M in BF16 peaked at 1.25 times its
	// float32 weights).
	bp := chunkPool.Get().(*chunkBufs)
	defer chunkPool.Put(bp)
	buf := bp.raw[:chunk]
	var vals []float32
	if dst == nil {
		vals = bp.vals[:chunk/es]
	}
	for done := int64(0); done < total; {
		n := min(chunk, total-done)
		if _, err := s.r.ReadAt(buf[:n], s.DataStart+e.Begin+done); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("safetensors: %s: reading tensor %q: %w", s.name, name, err)
		}
		k, off := int(n/es), int(done/es)
		if dst != nil {
			decode(e.DType, buf[:n], dst[off:off+k])
		} else {
			decode(e.DType, buf[:n], vals[:k])
			if err := fn(off, vals[:k]); err != nil {
				return err
			}
		}
		done += n
	}
	return nil
}

// ReadInto reads the named tensor as float32 into dst, which must hold
// exactly its number of elements.
func (s *File) ReadInto(name string, dst []float32) error {
	e, ok := s.Entry(name)
	if !ok {
		return fmt.Errorf("safetensors: %s: no tensor %q", s.name, name)
	}
	if n := e.Numel(); n != len(dst) {
		return fmt.Errorf("safetensors: %s: tensor %q has %d elements (shape %s), destination holds %d", s.name, name, n, tensor.ShapeString(e.Shape), len(dst))
	}
	return s.stream(name, dst, nil)
}

// Tensor reads the named tensor into a new float32 tensor.
func (s *File) Tensor(name string) (*tensor.Tensor, error) {
	e, ok := s.Entry(name)
	if !ok {
		return nil, fmt.Errorf("safetensors: %s: no tensor %q", s.name, name)
	}
	if !e.Convertible() {
		return nil, fmt.Errorf("safetensors: %s: tensor %q has dtype %s; only F32, F16, BF16 and F64 can be read as float32", s.name, name, e.DType)
	}
	t := tensor.New(e.Shape...)
	if err := s.ReadInto(name, t.Data); err != nil {
		return nil, err
	}
	return t, nil
}

// All reads every tensor into a map of new float32 tensors.
func (s *File) All() (map[string]*tensor.Tensor, error) {
	out := make(map[string]*tensor.Tensor, len(s.Entries))
	for _, e := range s.Entries {
		t, err := s.Tensor(e.Name)
		if err != nil {
			return nil, err
		}
		out[e.Name] = t
	}
	return out, nil
}

// Read reads every tensor of a safetensors file as float32
// (converting F16, BF16 and F64) together with its metadata (nil when the
// file has none). Integer and boolean tensors are an error.
func Read(path string) (map[string]*tensor.Tensor, map[string]string, error) {
	s, err := Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer s.Close()
	ts, err := s.All()
	if err != nil {
		return nil, nil, err
	}
	return ts, s.Metadata, nil
}

// Decode is Read on the bytes of a file in memory.
func Decode(b []byte) (map[string]*tensor.Tensor, map[string]string, error) {
	s, err := NewReader(bytes.NewReader(b), int64(len(b)), "<bytes>")
	if err != nil {
		return nil, nil, err
	}
	ts, err := s.All()
	if err != nil {
		return nil, nil, err
	}
	return ts, s.Metadata, nil
}

// ReadFrom reads a whole safetensors stream (io.ReadAll, so its
// size is bounded by the stream itself) and decodes it.
func ReadFrom(r io.Reader) (map[string]*tensor.Tensor, map[string]string, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: %w", err)
	}
	return Decode(b)
}

// rawEntry is a tensor entry of the JSON header.
type rawEntry struct {
	DType       *string  `json:"dtype"`
	Shape       *[]int64 `json:"shape"`
	DataOffsets *[]int64 `json:"data_offsets"`
}

func readHeader(r io.ReaderAt, size int64, name string, maxEntries int) (*Header, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("safetensors: %s: "+format, append([]any{name}, args...)...)
	}
	if size < 8 {
		return nil, fail("truncated: %d bytes, fewer than the 8-byte header length", size)
	}
	var lenBuf [8]byte
	if _, err := r.ReadAt(lenBuf[:], 0); err != nil {
		return nil, fail("reading header length: %w", err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > uint64(size-8) {
		return nil, fail("header length %d runs past the end of the file (%d bytes)", n, size)
	}
	if n > MaxHeader {
		return nil, fail("header length %d exceeds the limit of %d bytes", n, MaxHeader)
	}
	if n < 2 {
		return nil, fail("header length %d is too short for a JSON object", n)
	}
	if maxEntries > 0 {
		if budget := uint64(maxEntries)*EntryHeaderBytes + MetadataHeaderBytes; n > budget {
			return nil, fail("header length %d is more than %d expected tensors need (at most %d bytes)", n, maxEntries, budget)
		}
	}
	hdr := make([]byte, n)
	if _, err := r.ReadAt(hdr, 8); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fail("reading header: %w", err)
	}
	if hdr[0] != '{' {
		return nil, fail("header does not start with '{'")
	}
	if !utf8.Valid(hdr) {
		return nil, fail("header is not valid UTF-8")
	}
	if !json.Valid(hdr) {
		// Unmarshal to get a message saying where.
		var v any
		err := json.Unmarshal(hdr, &v)
		if err == nil {
			err = errors.New("invalid JSON")
		}
		return nil, fail("bad JSON header: %w", err)
	}
	dataStart := 8 + int64(n)
	bufLen := size - dataStart

	// Count before building anything per entry: a header of a million
	// empty tensors costs nothing to refuse.
	k := countMembers(hdr)
	if maxEntries > 0 && k > maxEntries+1 { // +1: __metadata__
		return nil, fail("header holds %d entries, more than the %d tensors expected", k, maxEntries)
	}

	info := &Header{DataStart: dataStart, Size: size, Entries: make([]Entry, 0, k)}
	// One decoder straight into each entry: a decoder or a raw copy per
	// entry would cost several times the header's size in garbage.
	dec := json.NewDecoder(bytes.NewReader(hdr))
	dec.DisallowUnknownFields()
	if _, err := dec.Token(); err != nil { // '{'
		return nil, fail("bad JSON header: %w", err)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fail("bad JSON header: %w", err)
		}
		key, _ := tok.(string)
		if key == metaKey {
			if info.Metadata != nil {
				return nil, fail("duplicate entry %q in header", key)
			}
			var meta map[string]string
			if err := dec.Decode(&meta); err != nil || meta == nil {
				return nil, fail("__metadata__ must be an object of string values (%v)", err)
			}
			info.Metadata = meta
			continue
		}
		if maxEntries > 0 && len(info.Entries) >= maxEntries {
			return nil, fail("header holds more than the %d tensors expected", maxEntries)
		}
		var re rawEntry
		if err := dec.Decode(&re); err != nil {
			return nil, fail("tensor %q: bad entry: %w", key, err)
		}
		e, err := parseEntry(key, re, bufLen)
		if err != nil {
			return nil, fail("%w", err)
		}
		info.Entries = append(info.Entries, e)
	}
	// Names must be unique; sorted by name, duplicates are neighbours.
	byName := func(a, b Entry) int { return strings.Compare(a.Name, b.Name) }
	slices.SortFunc(info.Entries, byName)
	for i := 1; i < len(info.Entries); i++ {
		if info.Entries[i].Name == info.Entries[i-1].Name {
			return nil, fail("duplicate entry %q in header", info.Entries[i].Name)
		}
	}
	// Coverage: sorted by offsets, the ranges must tile [0, bufLen).
	slices.SortFunc(info.Entries, func(a, b Entry) int {
		if a.Begin != b.Begin {
			return cmpInt64(a.Begin, b.Begin)
		}
		if a.End != b.End {
			return cmpInt64(a.End, b.End)
		}
		return strings.Compare(a.Name, b.Name)
	})
	pos := int64(0)
	prev := ""
	for _, e := range info.Entries {
		switch {
		case e.Begin < pos:
			return nil, fail("tensor %q (bytes %d..%d) overlaps tensor %q (ending at %d)", e.Name, e.Begin, e.End, prev, pos)
		case e.Begin > pos:
			return nil, fail("gap in the data buffer: bytes %d..%d before tensor %q belong to no tensor", pos, e.Begin, e.Name)
		}
		pos = e.End
		prev = e.Name
	}
	if pos != bufLen {
		return nil, fail("data buffer is %d bytes but the tensors cover %d: %d trailing bytes belong to no tensor", bufLen, pos, bufLen-pos)
	}
	slices.SortFunc(info.Entries, byName)
	return info, nil
}

// countMembers counts the members of the JSON object b (which must be
// valid JSON) without allocating: the commas at depth one outside strings,
// plus one.
func countMembers(b []byte) int {
	depth, n, inString, escaped, empty := 0, 0, false, false, true
	for _, c := range b {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
			if depth == 1 {
				empty = false
			}
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
		case c == ',' && depth == 1:
			n++
		}
	}
	if empty {
		return 0
	}
	return n + 1
}

func parseEntry(key string, re rawEntry, bufLen int64) (Entry, error) {
	if re.DType == nil || re.Shape == nil || re.DataOffsets == nil {
		return Entry{}, fmt.Errorf("tensor %q: entry needs dtype, shape and data_offsets", key)
	}
	es, ok := dtypeSizes[*re.DType]
	if !ok {
		return Entry{}, fmt.Errorf("tensor %q: unknown dtype %q", key, *re.DType)
	}
	offs := *re.DataOffsets
	if len(offs) != 2 {
		return Entry{}, fmt.Errorf("tensor %q: data_offsets must be [begin,end], got %d values", key, len(offs))
	}
	begin, end := offs[0], offs[1]
	if begin < 0 || end < begin {
		return Entry{}, fmt.Errorf("tensor %q: bad data_offsets [%d,%d]", key, begin, end)
	}
	if end > bufLen {
		return Entry{}, fmt.Errorf("tensor %q: data_offsets [%d,%d] run past the data buffer (%d bytes; is the file truncated?)", key, begin, end, bufLen)
	}
	// Element count, guarded against overflow; bounded by the buffer.
	shape := make([]int, len(*re.Shape))
	numel := int64(1)
	zero := false
	for i, d := range *re.Shape {
		if d < 0 {
			return Entry{}, fmt.Errorf("tensor %q: negative dimension in shape %v", key, *re.Shape)
		}
		if d > math.MaxInt32*int64(1<<16) {
			return Entry{}, fmt.Errorf("tensor %q: absurd dimension %d in shape %v", key, d, *re.Shape)
		}
		shape[i] = int(d)
		if d == 0 {
			zero = true
		}
	}
	if zero {
		numel = 0
	} else {
		for _, d := range shape {
			if numel > bufLen/int64(d) {
				return Entry{}, fmt.Errorf("tensor %q: shape %v holds more than the %d-byte data buffer", key, *re.Shape, bufLen)
			}
			numel *= int64(d)
		}
	}
	if numel > bufLen/int64(es)+1 || numel*int64(es) != end-begin {
		return Entry{}, fmt.Errorf("tensor %q: shape %v of %s needs %d bytes but data_offsets [%d,%d] give %d", key, *re.Shape, *re.DType, numel*int64(es), begin, end, end-begin)
	}
	return Entry{Name: key, DType: *re.DType, Shape: shape, Begin: begin, End: end}, nil
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// littleEndian reports whether this machine stores numbers as safetensors
// files do.
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// decode converts little-endian values of dtype (F32, F16, BF16 or F64) to float32.
func decode(dtype string, src []byte, dst []float32) {
	switch dtype {
	case "F32":
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	case "F16":
		for i := range dst {
			dst[i] = Float16ToFloat32(binary.LittleEndian.Uint16(src[2*i:]))
		}
	case "BF16":
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(src[2*i:])) << 16)
		}
	case "F64":
		for i := range dst {
			dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(src[8*i:])))
		}
	default:
		panic("safetensors: decode of unsupported dtype " + dtype)
	}
}

// Float16ToFloat32 converts an IEEE 754 half-precision value, given by its
// bits, to float32 exactly (subnormals, infinities and NaNs included).
func Float16ToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		// Subnormal: normalize.
		e := uint32(127 - 15 + 1)
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		mant &= 0x3ff
		return math.Float32frombits(sign | e<<23 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// Encode writes tensors as F32 in safetensors format to w: names
// sorted, data laid out in the same order, the header padded with spaces to
// a multiple of 8 bytes as the reference implementation does, metadata
// under "__metadata__" (omitted when empty).
func Encode(w io.Writer, tensors map[string]*tensor.Tensor, meta map[string]string) error {
	names := make([]string, 0, len(tensors))
	for name, t := range tensors {
		if name == "" {
			return errors.New("safetensors: empty tensor name")
		}
		if name == metaKey {
			return fmt.Errorf("safetensors: %q is reserved and cannot name a tensor", name)
		}
		if t == nil {
			return fmt.Errorf("safetensors: tensor %q is nil", name)
		}
		for _, d := range t.Shape {
			if d < 0 {
				return fmt.Errorf("safetensors: tensor %q has negative dimension in shape %v", name, t.Shape)
			}
		}
		if tensor.Numel(t.Shape) != len(t.Data) {
			return fmt.Errorf("safetensors: tensor %q has %d values for shape %s", name, len(t.Data), tensor.ShapeString(t.Shape))
		}
		names = append(names, name)
	}
	slices.Sort(names)

	var hdr bytes.Buffer
	hdr.WriteByte('{')
	first := true
	sep := func() {
		if !first {
			hdr.WriteByte(',')
		}
		first = false
	}
	if len(meta) > 0 {
		sep()
		mb, err := json.Marshal(meta) // map keys are sorted
		if err != nil {
			return fmt.Errorf("safetensors: metadata: %w", err)
		}
		hdr.WriteString(`"` + metaKey + `":`)
		hdr.Write(mb)
	}
	off := int64(0)
	for _, name := range names {
		t := tensors[name]
		sep()
		nb, _ := json.Marshal(name)
		hdr.Write(nb)
		hdr.WriteString(`:{"dtype":"F32","shape":[`)
		for i, d := range t.Shape {
			if i > 0 {
				hdr.WriteByte(',')
			}
			hdr.WriteString(strconv.Itoa(d))
		}
		end := off + 4*int64(len(t.Data))
		fmt.Fprintf(&hdr, `],"data_offsets":[%d,%d]}`, off, end)
		off = end
	}
	hdr.WriteByte('}')
	for hdr.Len()%8 != 0 {
		hdr.WriteByte(' ')
	}

	bw := bufio.NewWriterSize(w, 1<<16)
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(hdr.Len()))
	bw.Write(lenBuf[:])
	bw.Write(hdr.Bytes())
	buf := make([]byte, 1<<16)
	for _, name := range names {
		data := tensors[name].Data
		for len(data) > 0 {
			k := min(len(data), len(buf)/4)
			for i, v := range data[:k] {
				binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
			}
			if _, err := bw.Write(buf[:4*k]); err != nil {
				return fmt.Errorf("safetensors: %w", err)
			}
			data = data[k:]
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}

// Write writes tensors as F32 to path atomically (see atomicfile.Write):
// path holds either its old contents or the complete new file, and no
// temporary file remains after an error. See Encode for the layout.
func Write(path string, tensors map[string]*tensor.Tensor, meta map[string]string) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		return Encode(w, tensors, meta)
	})
}
