//go:build !amd64 || noasm

package tensor

// peakLoop returns the pure-Go loop: no assembly is built here.
func peakLoop() (func(int), string, int) { return peakGo, "go", 1 }
