package superposition

import "fmt"

// Kind names a toy model of Elhage et al. 2022 (Toy Models of Superposition).
// W is [m,n]: n features embedded in m hidden dimensions, feature i along the
// column W_i.
type Kind string

const (
	// Linear is x' = W^T W x + b ("Demonstrating Superposition").
	Linear Kind = "linear"
	// ReLUOutput is x' = ReLU(W^T W x + b), the paper's main model.
	ReLUOutput Kind = "relu_output"
	// ReLUHidden is h = ReLU(W x), x' = ReLU(W^T h + b): a privileged hidden
	// basis whose neurons can be polysemantic ("Superposition in a Privileged
	// Basis").
	ReLUHidden Kind = "relu_hidden"
	// AbsValue computes |x| of inputs uniform on [-1,1] with untied weights:
	// h = ReLU(W1 x + b1), x' = ReLU(W2 h + b2), W1 [m,n], W2 [n,m]
	// ("Computation in Superposition").
	AbsValue Kind = "abs"
)

// Valid reports whether k is a known model kind.
func (k Kind) Valid() bool {
	switch k {
	case Linear, ReLUOutput, ReLUHidden, AbsValue:
		return true
	}
	return false
}

// Weights are the parameters of one toy-model instance in chart-friendly
// form. W[i] is the paper's W_i, the i-th column of W [m,n] (feature i's
// direction in the hidden space), so W has n rows of length m; for AbsValue it
// holds W1 (transposed the same way). B is the output bias b [n]. For AbsValue
// W2[i] is the i-th row of W2 [n,m] and B1 the hidden bias [m].
type Weights struct {
	W  [][]float64 `json:"W"`
	B  []float64   `json:"b"`
	W2 [][]float64 `json:"W2,omitempty"`
	B1 []float64   `json:"b1,omitempty"`
}

// layout places the parameters of one instance in one flat vector:
// W (n*m, feature-major), b (n), then for AbsValue W2 (n*m) and b1 (m).
type layout struct {
	kind         Kind
	n, m         int
	w, b, w2, b1 int // offsets
	size         int
}

func newLayout(kind Kind, n, m int) layout {
	l := layout{kind: kind, n: n, m: m}
	l.w = 0
	l.b = n * m
	l.size = l.b + n
	if kind == AbsValue {
		l.w2 = l.size
		l.b1 = l.w2 + n*m
		l.size = l.b1 + m
	}
	return l
}

func (l layout) weights(p []float64) Weights {
	w := Weights{W: rows(p[l.w:l.w+l.n*l.m], l.n, l.m), B: append([]float64(nil), p[l.b:l.b+l.n]...)}
	if l.kind == AbsValue {
		w.W2 = rows(p[l.w2:l.w2+l.n*l.m], l.n, l.m)
		w.B1 = append([]float64(nil), p[l.b1:l.b1+l.m]...)
	}
	return w
}

func (l layout) flat(w Weights) ([]float64, error) {
	p := make([]float64, l.size)
	if len(w.W) != l.n || len(w.B) != l.n {
		return nil, fmt.Errorf("weights: want %d features, have W %d rows and b %d", l.n, len(w.W), len(w.B))
	}
	for i, r := range w.W {
		if len(r) != l.m {
			return nil, fmt.Errorf("weights: W[%d] has %d values, want %d", i, len(r), l.m)
		}
		copy(p[l.w+i*l.m:], r)
	}
	copy(p[l.b:], w.B)
	if l.kind == AbsValue {
		if len(w.W2) != l.n || len(w.B1) != l.m {
			return nil, fmt.Errorf("weights: abs model needs W2 [%d][%d] and b1 [%d]", l.n, l.m, l.m)
		}
		for i, r := range w.W2 {
			if len(r) != l.m {
				return nil, fmt.Errorf("weights: W2[%d] has %d values, want %d", i, len(r), l.m)
			}
			copy(p[l.w2+i*l.m:], r)
		}
		copy(p[l.b1:], w.B1)
	}
	return p, nil
}

func rows(flat []float64, n, m int) [][]float64 {
	out := make([][]float64, n)
	for i := range out {
		out[i] = append([]float64(nil), flat[i*m:i*m+m]...)
	}
	return out
}

// Forward returns the model output x' for input x (length n) under weights w,
// straightforwardly from the definitions; training uses fused loops instead,
// and the tests check the two against each other.
func Forward(kind Kind, w Weights, x []float64) []float64 {
	n := len(w.W)
	h := Hidden(kind, w, x)
	m := len(h)
	read := w.W
	if kind == AbsValue {
		read = w.W2
	}
	out := make([]float64, n)
	for i := 0; i < n; i++ {
		s := w.B[i]
		for k := 0; k < m; k++ {
			s += read[i][k] * h[k]
		}
		if kind != Linear {
			s = max(s, 0)
		}
		out[i] = s
	}
	return out
}

// Hidden returns the hidden activation h of input x: W x for Linear and
// ReLUOutput, ReLU(W x) for ReLUHidden and ReLU(W1 x + b1) for AbsValue.
func Hidden(kind Kind, w Weights, x []float64) []float64 {
	m := 0
	if len(w.W) > 0 {
		m = len(w.W[0])
	}
	h := make([]float64, m)
	for i := range min(len(x), len(w.W)) {
		for k := 0; k < m; k++ {
			h[k] += w.W[i][k] * x[i]
		}
	}
	if kind == AbsValue {
		for k := range h {
			h[k] += w.B1[k]
		}
	}
	if kind == ReLUHidden || kind == AbsValue {
		for k := range h {
			h[k] = max(h[k], 0)
		}
	}
	return h
}

// Loss is the importance-weighted reconstruction error of Elhage et al. 2022:
// the mean over the batch of sum_i I_i (y_i - x'_i)^2, where the target y is
// x, or |x| for AbsValue. (Anthropic's notebook also averages over features,
// a constant factor n that Adam does not see.)
func Loss(kind Kind, w Weights, importance []float64, batch [][]float64) float64 {
	var total float64
	for _, x := range batch {
		out := Forward(kind, w, x)
		for i, xi := range x {
			y := xi
			if kind == AbsValue && y < 0 {
				y = -y
			}
			d := out[i] - y
			total += importance[i] * d * d
		}
	}
	return total / float64(len(batch))
}
