package superposition

// work holds one instance's per-sample scratch buffers.
type work struct {
	x, h, hp, dh []float64
	nz           []int32
}

func newWork(n, m int) *work {
	return &work{x: make([]float64, n), h: make([]float64, m), hp: make([]float64, m), dh: make([]float64, m), nz: make([]int32, n)}
}

// accumulate runs forward and backward for one sample x (non-zero features
// nz) and adds scale * d(loss)/d(params) into g. It returns the sample's loss.
func (l *layout) accumulate(p, g, imp []float64, wk *work, nnz int, scale float64) float64 {
	switch l.kind {
	case AbsValue:
		return l.accAbs(p, g, imp, wk, nnz, scale)
	default:
		return l.accTied(p, g, imp, wk, nnz, scale)
	}
}

// accTied is forward+backward of the three tied-weight models.
func (l *layout) accTied(p, g, imp []float64, wk *work, nnz int, scale float64) float64 {
	n, m := l.n, l.m
	W := p[:n*m]
	b := p[n*m : n*m+n]
	gW := g[:n*m]
	gb := g[n*m : n*m+n]
	x := wk.x[:n]
	imp = imp[:n]
	h := wk.h[:m]
	dh := wk.dh[:m]
	nz := wk.nz[:nnz]
	clear(h)
	for _, i := range nz { // h = W^T x over the non-zero features
		axpy(x[i], W[int(i)*m:][:m], h)
	}
	hidden := l.kind == ReLUHidden
	if hidden {
		hp := wk.hp[:m]
		copy(hp, h)
		for k, v := range h {
			if v < 0 {
				h[k] = 0
			}
		}
	}
	loss := outputLayer(W, b, gW, gb, h, dh, x, imp, m, l.kind != Linear, false, scale)
	if hidden {
		hp := wk.hp[:m]
		for k, v := range hp {
			if v <= 0 {
				dh[k] = 0
			}
		}
	}
	for _, i := range nz { // gW += x dh^T, zero in the rows of zero features
		axpy(x[i], dh, gW[int(i)*m:][:m])
	}
	return loss
}

// accAbs is forward+backward of the absolute-value model.
func (l *layout) accAbs(p, g, imp []float64, wk *work, nnz int, scale float64) float64 {
	n, m := l.n, l.m
	W1 := p[l.w : l.w+n*m]
	b2 := p[l.b : l.b+n]
	W2 := p[l.w2 : l.w2+n*m]
	b1 := p[l.b1 : l.b1+m]
	gW1 := g[l.w : l.w+n*m]
	gb2 := g[l.b : l.b+n]
	gW2 := g[l.w2 : l.w2+n*m]
	gb1 := g[l.b1 : l.b1+m]
	x := wk.x[:n]
	imp = imp[:n]
	h := wk.h[:m]
	hp := wk.hp[:m]
	dh := wk.dh[:m]
	nz := wk.nz[:nnz]
	copy(hp, b1)
	for _, i := range nz { // hp = b1 + W1^T x over the non-zero features
		axpy(x[i], W1[int(i)*m:][:m], hp)
	}
	for k, v := range hp {
		h[k] = max(v, 0)
	}
	loss := outputLayer(W2, b2, gW2, gb2, h, dh, x, imp, m, true, true, scale)
	for k, v := range hp {
		if v <= 0 {
			dh[k] = 0
		}
		gb1[k] += dh[k]
	}
	for _, i := range nz { // gW1 += x dh^T, zero in the rows of zero features
		axpy(x[i], dh, gW1[int(i)*m:][:m])
	}
	return loss
}

// axpy adds a·x to y[:len(x)] in plain Go, unfused like every loop of this
// file, so that a sample's gradient is the same on every CPU (tensor.Axpy64
// fuses multiply-adds on amd64).
func axpy(a float64, x, y []float64) {
	y = y[:len(x)]
	for k, v := range x {
		y[k] += a * v
	}
}

// outputLayer is forward+backward of the models' shared output layer:
// y_i = W_i·h + b_i, through a ReLU when relu, against the target x_i (|x_i|
// when abs), for every feature i of n = len(b). It returns the sample's
// loss Σ_i imp_i (y_i − target_i)², accumulates scale × its gradient into gW
// and gb, and sets dh (zeroed first) to the gradient at h.
func outputLayer(W, b, gW, gb, h, dh, x, imp []float64, m int, relu, abs bool, scale float64) float64 {
	clear(dh)
	var loss float64
	for i := range b {
		y := x[i]
		if abs && y < 0 {
			y = -y
		}
		wi := W[i*m:][:m]
		hh := h[:len(wi)]
		pre := b[i]
		for k, v := range hh {
			pre += wi[k] * v
		}
		if relu && pre <= 0 {
			loss += imp[i] * y * y
			continue
		}
		d := pre - y
		loss += imp[i] * d * d
		gi := 2 * scale * imp[i] * d
		gb[i] += gi
		gwi := gW[i*m:][:m]
		dd := dh[:len(gwi)]
		hh = h[:len(gwi)]
		wi = wi[:len(gwi)]
		for k := range gwi {
			gwi[k] += gi * hh[k]
			dd[k] += gi * wi[k]
		}
	}
	return loss
}
