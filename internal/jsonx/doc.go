// Package jsonx holds the one fix for numbers JSON cannot carry: NaN and
// ±Inf. encoding/json refuses them, yet scores legitimately are NaN (a head
// whose weights are zero, a pair of heads that cannot compose, a mean over
// nothing). A result type whose fields can hold them encodes those fields as
// Float, which writes null instead, so that one NaN does not fail the whole
// file or `--json` output.
package jsonx
