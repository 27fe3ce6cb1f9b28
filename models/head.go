package models

import (
	"fmt"
	"strconv"
)

// Head names one attention head: its layer and its index within the layer.
// Probes, circuits, reports and the CLI all name heads with it.
type Head struct {
	Layer int `json:"layer"`
	Head  int `json:"head"`
}

// String returns "L{layer}H{head}" ("L1H2"), TransformerLens's usual label.
func (h Head) String() string {
	return "L" + strconv.Itoa(h.Layer) + "H" + strconv.Itoa(h.Head)
}

// ParseHead reads a head written by Head.String ("L1H2").
func ParseHead(s string) (Head, error) {
	var h Head
	var rest string
	// Sscanf stops at the first mismatch; the trailing %s catches extra text.
	if n, _ := fmt.Sscanf(s, "L%dH%d%s", &h.Layer, &h.Head, &rest); n != 2 || h.Layer < 0 || h.Head < 0 || h.String() != s {
		return Head{}, fmt.Errorf("models: head %q is not of the form L<layer>H<head>", s)
	}
	return h, nil
}
