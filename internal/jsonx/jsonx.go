package jsonx

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// Float is a float64 that encodes to JSON as null when it is NaN or ±Inf and
// as encoding/json writes a float64 otherwise. null decodes back to NaN.
type Float float64

// MarshalJSON writes the number, or null when it is not finite.
func (f Float) MarshalJSON() ([]byte, error) {
	return AppendFloat(nil, float64(f)), nil
}

// UnmarshalJSON reads a number, or null as NaN.
func (f *Float) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		*f = Float(math.NaN())
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("jsonx: %w", err)
	}
	*f = Float(v)
	return nil
}

// AppendFloat appends v to b as encoding/json formats a float64 (shortest
// representation, exponent form outside [1e-6, 1e21)), or null when v is
// NaN or ±Inf.
func AppendFloat(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, "null"...)
	}
	format := byte('f')
	if abs := math.Abs(v); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, v, format, -1, 64)
	if format == 'e' {
		// Like encoding/json: e-09 becomes e-9.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// Floats converts a slice for encoding (nil stays nil, so that it encodes
// as null as a nil []float64 does).
func Floats(v []float64) []Float {
	if v == nil {
		return nil
	}
	out := make([]Float, len(v))
	for i, x := range v {
		out[i] = Float(x)
	}
	return out
}

// Matrix converts rows of floats for encoding, as Floats does each row.
func Matrix(v [][]float64) [][]Float {
	if v == nil {
		return nil
	}
	out := make([][]Float, len(v))
	for i, row := range v {
		out[i] = Floats(row)
	}
	return out
}
