package hooks

import (
	"fmt"

	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/tensor"
)

// headName is the hook point at which a head is ablated: its z, the
// attention-weighted values, [B,T,H,D] (TransformerLens's convention).
func headName(layer int) string { return models.ActName("z", layer) }

// ZeroAblateHead returns a hook that sets head h of layer l to output zero,
// by zeroing its slice of hook_z.
func ZeroAblateHead(l, h int) Hook {
	return At(headName(l), func(_ string, z *tensor.Tensor) (*tensor.Tensor, error) {
		D := z.Shape[len(z.Shape)-1]
		return nil, forHead(z, h, func(off, _ int) { clear(z.Data[off : off+D]) })
	})
}

// MeanAblateHead returns a hook that replaces head h of layer l's hook_z by
// its mean over a reference batch, position by position. ref is the
// reference run's cached hook_z [B',T,H,D] with the same T as the ablated run.
func MeanAblateHead(l, h int, ref *tensor.Tensor) (Hook, error) {
	if len(ref.Shape) != 4 || h < 0 || h >= ref.Shape[2] {
		return Hook{}, fmt.Errorf("hooks: mean ablation needs a reference hook_z [batch,pos,head,d_head] with head %d, got %s", h, tensor.ShapeString(ref.Shape))
	}
	Bp, T, H, D := ref.Shape[0], ref.Shape[1], ref.Shape[2], ref.Shape[3]
	mean := make([]float32, T*D) // [T,D]
	for b := 0; b < Bp; b++ {
		for t := 0; t < T; t++ {
			src := ref.Data[((b*T+t)*H+h)*D : ((b*T+t)*H+h+1)*D]
			for d, v := range src {
				mean[t*D+d] += v / float32(Bp)
			}
		}
	}
	return At(headName(l), func(_ string, z *tensor.Tensor) (*tensor.Tensor, error) {
		if z.Shape[1] != T || z.Shape[3] != D {
			return nil, fmt.Errorf("mean ablation: reference has %d positions × d_head %d, run has %s", T, D, tensor.ShapeString(z.Shape))
		}
		return nil, forHead(z, h, func(off, t int) { copy(z.Data[off:off+D], mean[t*D:(t+1)*D]) })
	}), nil
}

// forHead calls f with the offset of head h's [D] slice of z [B,T,H,D] at
// every (batch, pos).
func forHead(z *tensor.Tensor, h int, f func(off, pos int)) error {
	if len(z.Shape) != 4 || h < 0 || h >= z.Shape[2] {
		return fmt.Errorf("no head %d in activation of shape %s", h, tensor.ShapeString(z.Shape))
	}
	B, T, H, D := z.Shape[0], z.Shape[1], z.Shape[2], z.Shape[3]
	for b := 0; b < B; b++ {
		for t := 0; t < T; t++ {
			off := ((b*T+t)*H + h) * D
			f(off, t)
		}
	}
	return nil
}

// Patch returns a hook that replaces the named activation by the one in
// source (a cache from another run, the "clean" run in activation patching).
func Patch(name string, source *Cache) Hook {
	return At(name, func(n string, act *tensor.Tensor) (*tensor.Tensor, error) {
		src, err := source.Lookup(n)
		if err != nil {
			return nil, err
		}
		if !src.SameShape(act.Shape) {
			return nil, fmt.Errorf("patch source has shape %s, run has %s", tensor.ShapeString(src.Shape), tensor.ShapeString(act.Shape))
		}
		return src, nil
	})
}

// PatchPosition returns a hook that replaces the named activation at one
// sequence position only, for activations laid out [B,T,...] (residual
// stream, hook_z, hook_result, MLP activations).
func PatchPosition(name string, pos int, source *Cache) Hook {
	return At(name, func(n string, act *tensor.Tensor) (*tensor.Tensor, error) {
		src, err := source.Lookup(n)
		if err != nil {
			return nil, err
		}
		if !src.SameShape(act.Shape) || len(act.Shape) < 2 || pos < 0 || pos >= act.Shape[1] {
			return nil, fmt.Errorf("cannot patch position %d of shape %s from %s", pos, tensor.ShapeString(act.Shape), tensor.ShapeString(src.Shape))
		}
		B, T := act.Shape[0], act.Shape[1]
		inner := act.Len() / (B * T)
		for b := 0; b < B; b++ {
			off := (b*T + pos) * inner
			copy(act.Data[off:off+inner], src.Data[off:off+inner])
		}
		return nil, nil
	})
}

// PatchHead returns a hook that replaces head h of layer l's hook_z by the
// source run's, at every position (pos < 0) or at one position.
func PatchHead(l, h, pos int, source *Cache) Hook {
	return At(headName(l), func(n string, z *tensor.Tensor) (*tensor.Tensor, error) {
		src, err := source.Lookup(n)
		if err != nil {
			return nil, err
		}
		if !src.SameShape(z.Shape) {
			return nil, fmt.Errorf("patch source has shape %s, run has %s", tensor.ShapeString(src.Shape), tensor.ShapeString(z.Shape))
		}
		D := z.Shape[3]
		return nil, forHead(z, h, func(off, t int) {
			if pos < 0 || t == pos {
				copy(z.Data[off:off+D], src.Data[off:off+D])
			}
		})
	})
}
