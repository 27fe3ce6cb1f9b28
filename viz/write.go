package viz

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/mechinterp/mechinterp/tensor"
)

// WriteJSON writes v as indented JSON to path atomically, like Report.WriteFile. Reports use
// it for the file of every number they plot.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return writeAtomic(path, append(b, '\n'))
}

// writeAtomic writes b to path through tensor.WriteFileAtomic: readers see either the old
// file or the whole new one, never part of it.
func writeAtomic(path string, b []byte) error {
	return tensor.WriteFileAtomic(path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}
