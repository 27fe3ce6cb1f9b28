package sae

// auxK is the auxiliary loss of Gao et al. 2024 (section 2.4 and appendix
// B.1) that revives dead latents of TopK and BatchTopK SAEs: with e = x -
// x_hat the residual (no gradient) and ê = Σ_{k ∈ A} pre_k W_d,k over A,
// the k_aux = d/2 largest pre-activations among the dead latents (as
// SAELens, no ReLU), the loss adds α s ||e - ê||² (mean over rows), s =
// min(dead/k_aux, 1) as SAELens scales it when few latents are dead. A
// latent is dead when it fired on none of the last Config.DeadWindow
// training samples.
type auxK[T num] struct {
	since []int // training samples since each latent last fired
	dead  []int32
	idx   []int32 // [n, kAux]: the row's chosen dead latents
	val   []T     // their pre-activations
	ehat  []T     // [n, D]: ê - e, then its gradient
	loss  float64 // α s Σ||e - ê||² / n of the last batch
	// fixed, when set (tests), is x_hat - x held constant: the loss takes
	// no gradient through the residual, so a finite-difference check
	// must hold it.
	fixed []T
}

// track updates the firing counters with the batch t.fa; call after
// backward (which uses the dead set of the samples before the batch).
func (a *auxK[T]) track(t *trainer[T]) {
	if a.since == nil {
		a.since = make([]int, t.f)
	}
	F := t.f
	fired := make([]bool, F)
	for i := 0; i < t.n; i++ {
		for k, v := range t.fa[i*F : (i+1)*F] {
			if v != 0 {
				fired[k] = true
			}
		}
	}
	for k, f := range fired {
		if f {
			a.since[k] = 0
		} else {
			a.since[k] += t.n
		}
	}
}

// backward adds the loss's gradient into t.g (after the main backward,
// whose t.r holds 2(x_hat - x)/n).
func (a *auxK[T]) backward(t *trainer[T]) {
	a.loss = 0
	if a.since == nil {
		return
	}
	n, D, F := t.n, t.d, t.f
	a.dead = a.dead[:0]
	for k, s := range a.since {
		if s >= t.cfg.DeadWindow {
			a.dead = append(a.dead, int32(k))
		}
	}
	if len(a.dead) == 0 {
		return
	}
	kAux := max(D/2, 1)
	scale := min(float64(len(a.dead))/float64(kAux), 1)
	kAux = min(kAux, len(a.dead))
	if cap(a.idx) < n*kAux {
		a.idx, a.val = make([]int32, n*kAux), make([]T, n*kAux)
	}
	if cap(a.ehat) < n*D {
		a.ehat = make([]T, n*D)
	}
	a.idx, a.val, a.ehat = a.idx[:n*kAux], a.val[:n*kAux], a.ehat[:n*D]
	_, _, Wd, _ := t.params()
	gWe, gBe, gWd, _ := t.grads()
	coef := t.cfg.AuxK * scale
	half := T(float64(n) / 2)
	sums := make([]float64, n)
	parallel(n, func(lo, hi int) {
		vals := make([]T, len(a.dead))
		var heap []T
		for i := lo; i < hi; i++ {
			pre := t.pre[i*F : (i+1)*F]
			for j, k := range a.dead {
				vals[j] = pre[k]
			}
			thr := kthLargest(vals, kAux, &heap)
			e := i * kAux
			for _, k := range a.dead { // above the cut, then ties
				if v := pre[k]; v > thr {
					a.idx[e], a.val[e] = k, v
					e++
				}
			}
			for _, k := range a.dead {
				if v := pre[k]; v == thr && e < (i+1)*kAux {
					a.idx[e], a.val[e] = k, v
					e++
				}
			}
			// ê - e = ê + (x_hat - x) = ê + r·n/2.
			eh, r := a.ehat[i*D:(i+1)*D], t.r[i*D:(i+1)*D]
			for j := range eh {
				eh[j] = r[j] * half
				if a.fixed != nil {
					eh[j] = a.fixed[i*D+j]
				}
			}
			for q := i * kAux; q < e; q++ {
				axpy(a.val[q], Wd[int(a.idx[q])*D:int(a.idx[q])*D+D], eh)
			}
			for q := e; q < (i+1)*kAux; q++ {
				a.idx[q] = -1
			}
			var s float64
			g := T(2 * coef / float64(n))
			for j, v := range eh {
				s += float64(v) * float64(v)
				eh[j] = g * v
			}
			sums[i] = s
		}
	})
	for _, s := range sums {
		a.loss += coef * s / float64(n)
	}
	parallel(F, func(lo, hi int) {
		for i := 0; i < n; i++ {
			gh, xb := a.ehat[i*D:(i+1)*D], t.xb[i*D:(i+1)*D]
			for q := i * kAux; q < (i+1)*kAux; q++ {
				k := int(a.idx[q])
				if k < lo || k >= hi {
					continue
				}
				dp := dot(Wd[k*D:k*D+D], gh)
				axpy(a.val[q], gh, gWd[k*D:k*D+D])
				axpy(dp, xb, gWe[k*D:k*D+D])
				gBe[k] += dp
			}
		}
	})
}
