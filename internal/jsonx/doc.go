// Package jsonx holds the one fix for numbers JSON cannot carry: NaN and
// ±Inf. encoding/json refuses them, yet scores legitimately are NaN (a head
// whose weights are zero, a pair of heads that cannot compose, a mean over
// nothing). Float is a float64 that encodes them as null; Marshal encodes any
// value with every float64 in it treated so, which is how a result type
// whose fields can hold NaN writes its MarshalJSON without listing its
// fields again. One NaN then no longer fails a whole file or --json output.
package jsonx
