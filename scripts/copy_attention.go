//go:build ignore

// copy_attention reads what a checkpoint of a run does on repeats, for
// docs/induction-heads.md ("The random_fraction 1 case"):
//
//	go run scripts/copy_attention.go RUN RUN/checkpoints/step-003000
//
// It prints, for |r| = 8 to 31, the induction loss (the second copy of r + r,
// with BOS if the run's data has one) and every head's prefix matching
// (Olsson et al. 2022); then, on a batch of the run's own training
// distribution (another seed), for each head the mean attention from the
// predictable positions of each copied span to the induction target (the
// token after the earlier occurrence) and to the duplicate (the earlier
// occurrence itself), the three offsets it attends to most on average, and
// the loss on predictable copy positions against the others.
package main

import (
	"fmt"
	"os"
	"sort"

	"github.com/mechinterp/mechinterp/data"
	"github.com/mechinterp/mechinterp/hooks"
	"github.com/mechinterp/mechinterp/models"
	"github.com/mechinterp/mechinterp/probes"
	"github.com/mechinterp/mechinterp/run"
)

func main() {
	runDir, ckpt := os.Args[1], os.Args[2]
	m, err := models.Load(ckpt)
	if err != nil {
		panic(err)
	}
	c, err := run.ReadConfig(runDir)
	if err != nil {
		panic(err)
	}
	// Prefix matching at several |r|.
	for _, n := range []int{8, 12, 16, 20, 25, 31} {
		o := probes.RepeatOptions{}
		if c.Data.Kind == data.KindReference {
			o.RepeatedConfig = c.Data.Reference.EvalRepeated(n, 2)
		} else {
			o.RepeatedConfig = c.Data.Synthetic.EvalRepeated(n, 2)
		}
		o.Len = n
		pm, err := probes.PrefixMatching(m, o)
		if err != nil {
			panic(err)
		}
		hs, err := probes.Heads(m, probes.HeadOptions{Repeat: o})
		if err != nil {
			panic(err)
		}
		fmt.Printf("induction loss %.2f (first copy %.2f) ", hs.InductionLoss.Loss, hs.InductionLoss.FirstCopy)
		fmt.Printf("|r|=%2d prefix L1 %.2f %.2f %.2f %.2f   L0 %.2f %.2f %.2f %.2f\n", n, pm[1][0], pm[1][1], pm[1][2], pm[1][3], pm[0][0], pm[0][1], pm[0][2], pm[0][3])
	}
	// Training-distribution batch: attention of layer-1 heads from copy positions.
	hc := c.Data
	hc.Seed ^= 0x1234
	src, err := data.New(hc)
	if err != nil {
		panic(err)
	}
	T := c.Train.SeqLen
	if T == 0 {
		T = m.Config.NCtx
	}
	B := 64
	b := data.NewBatch(B, T)
	if err := src.Next(b); err != nil {
		panic(err)
	}
	inputs, targets := b.Inputs(), b.Targets()
	pass, cache, err := hooks.Run(m, inputs, B, T, hooks.Spec{Targets: targets, Cache: hooks.MustFilter("blocks.*.attn.hook_pattern")})
	if err != nil {
		panic(err)
	}
	H := m.Config.NHeads
	var lossCopy, lossOther float64
	var nCopy, nOther int
	for l := 0; l < m.Config.NLayers; l++ {
		p, _ := cache.Lookup(models.ActName("pattern", l))
		ind := make([]float64, H)
		dup := make([]float64, H)
		nq := 0
		offs := make([][]float64, H)
		for h := range offs {
			offs[h] = make([]float64, T)
		}
		for bi := 0; bi < B; bi++ {
			for _, sp := range b.Spans[bi] {
				for j := 1; j < sp.Len; j++ { // query at input position Dst+j (predicts Dst+j+1)
					q := sp.Dst + j
					if q >= T || sp.Src+j+1 > q {
						continue
					}
					for h := 0; h < H; h++ {
						row := p.Data[((bi*H+h)*T+q)*T : ((bi*H+h)*T+q+1)*T]
						ind[h] += float64(row[sp.Src+j+1])
						dup[h] += float64(row[sp.Src+j])
					}
					nq++
				}
			}
			for q := 0; q < T; q++ {
				for h := 0; h < H; h++ {
					row := p.Data[((bi*H+h)*T+q)*T : ((bi*H+h)*T+q+1)*T]
					for k := 0; k <= q; k++ {
						offs[h][q-k] += float64(row[k]) / float64(B*T)
					}
				}
			}
		}
		for h := 0; h < H; h++ {
			idx := make([]int, T)
			for i := range idx {
				idx[i] = i
			}
			sort.Slice(idx, func(a, c int) bool { return offs[h][idx[a]] > offs[h][idx[c]] })
			best := idx[:3]
			fmt.Printf("%s copy-queries: to induction target %.2f, to duplicate %.2f; mean attention by offset: %d:%.2f %d:%.2f %d:%.2f (offset 0 %.2f, 1 %.2f)\n",
				models.Head{Layer: l, Head: h}, ind[h]/float64(nq), dup[h]/float64(nq), best[0], offs[h][best[0]], best[1], offs[h][best[1]], best[2], offs[h][best[2]], offs[h][0], offs[h][1])
		}
	}
	for bi := 0; bi < B; bi++ {
		in := make([]bool, T)
		for _, sp := range b.Spans[bi] {
			for j := 1; j < sp.Len; j++ {
				if sp.Dst+j-1 < T {
					in[sp.Dst+j-1] = true
				}
			}
		}
		for q := 0; q < T; q++ {
			if in[q] {
				lossCopy += float64(pass.Losses.Data[bi*T+q])
				nCopy++
			} else {
				lossOther += float64(pass.Losses.Data[bi*T+q])
				nOther++
			}
		}
	}
	fmt.Printf("loss on predictable copy positions %.3f (n=%d), elsewhere %.3f\n", lossCopy/float64(nCopy), nCopy, lossOther/float64(nOther))
}
