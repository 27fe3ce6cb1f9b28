package viz

import "github.com/mechinterp/mechinterp/internal/atomicfile"

// WriteJSON writes v as indented JSON to path atomically, like Report.WriteFile. Reports use
// it for the file of every number they plot.
func WriteJSON(path string, v any) error {
	return atomicfile.WriteJSON(path, v)
}
