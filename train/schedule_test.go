package train_test

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/mechinterp/mechinterp/train"
)

func TestLR(t *testing.T) {
	const total, warmup, peak, minLR = 100, 10, 1.0, 0.1
	for _, c := range []struct {
		i    int
		want float64
	}{
		{0, 0.1},  // first warmup update: peak·1/10
		{4, 0.5},  // peak·5/10
		{9, 1.0},  // end of warmup
		{10, 1.0}, // cosine starts at the peak
		{55, minLR + 0.5*(peak-minLR)},
		{99, minLR + 0.5*(1+math.Cos(math.Pi*89/90))*(peak-minLR)},
		{100, minLR},
		{1000, minLR},
	} {
		if got := train.LR(c.i, total, warmup, peak, minLR); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("LR(%d) = %v, want %v", c.i, got, c.want)
		}
	}
	if got := train.LR(0, 10, 0, 2, 2); got != 2 {
		t.Errorf("constant schedule: LR = %v, want 2", got)
	}
}

func TestClipGlobalNorm(t *testing.T) {
	g := []float32{3, 4}
	if n := train.ClipGlobalNorm(g, 1); n != 5 {
		t.Errorf("norm = %v, want 5", n)
	}
	if n := train.GlobalNorm(g); math.Abs(n-1) > 1e-6 {
		t.Errorf("norm after clipping to 1 = %v", n)
	}
	g = []float32{0.3, 0.4}
	train.ClipGlobalNorm(g, 1)
	if g[0] != 0.3 || g[1] != 0.4 {
		t.Errorf("a gradient below the limit changed: %v", g)
	}
	g = []float32{30, 40}
	train.ClipGlobalNorm(g, 0)
	if g[0] != 30 {
		t.Errorf("clip 0 should disable clipping: %v", g)
	}
	g = []float32{float32(math.NaN()), 1}
	if n := train.ClipGlobalNorm(g, 1); !math.IsNaN(n) || g[1] != 1 {
		t.Errorf("NaN gradient: norm %v, g %v", n, g)
	}
	long := make([]float32, 1001)
	for i := range long {
		long[i] = 1
	}
	if n := train.GlobalNorm(long); math.Abs(n-math.Sqrt(1001)) > 1e-9 {
		t.Errorf("GlobalNorm of 1001 ones = %v", n)
	}
}

func TestCheckpointScheduleList(t *testing.T) {
	for _, c := range []struct {
		s     train.CheckpointSchedule
		total int
		want  []int
	}{
		{train.CheckpointSchedule{PerDoubling: 1, Every: 50}, 100, []int{0, 1, 2, 4, 8, 16, 32, 50, 64, 100}},
		{train.CheckpointSchedule{PerDoubling: 2}, 20, []int{0, 1, 2, 3, 4, 6, 8, 11, 16, 20}},
		{train.CheckpointSchedule{Every: 3, Steps: []int{5, 5, 99}}, 10, []int{3, 5, 6, 9, 10}},
		{train.CheckpointSchedule{}, 7, []int{7}},
	} {
		if got := c.s.List(c.total); !slices.Equal(got, c.want) {
			t.Errorf("%+v.List(%d) = %v, want %v", c.s, c.total, got, c.want)
		}
	}
}

func ExampleLR() {
	// 1000 updates: 100 of warmup to 3e-3, then cosine down to 3e-4.
	for _, i := range []int{0, 49, 99, 550, 999} {
		fmt.Printf("update %d: lr %.2e\n", i, train.LR(i, 1000, 100, 3e-3, 3e-4))
	}
	// Output:
	// update 0: lr 3.00e-05
	// update 49: lr 1.50e-03
	// update 99: lr 3.00e-03
	// update 550: lr 1.65e-03
	// update 999: lr 3.00e-04
}

func ExampleCheckpointSchedule_List() {
	s := train.CheckpointSchedule{PerDoubling: 1, Every: 1000}
	fmt.Println(s.List(3000))
	// Output:
	// [0 1 2 4 8 16 32 64 128 256 512 1000 1024 2000 2048 3000]
}
