package circuits

import (
	"reflect"
	"testing"

	"github.com/mechinterp/mechinterp/internal/testmodel"
	"github.com/mechinterp/mechinterp/models"
)

// TestPatchAll: PatchAll is Patch, AttributionPatch and DirectLogitAttribution at the last
// position, each as computed alone, and it passes on their errors.
func TestPatchAll(t *testing.T) {
	m := testmodel.Random(t, models.Config{NLayers: 2, NHeads: 2, DModel: 8, NCtx: 8, DVocab: 12}, 0.3)
	clean, corrupted := []int{1, 2, 3, 4, 2}, []int{1, 5, 3, 4, 2}
	s, err := PatchAll(m, clean, corrupted, 3, 5, PatchOptions{SkipHeadPos: true})
	if err != nil {
		t.Fatal(err)
	}
	act, err := Patch(m, clean, corrupted, 3, 5, PatchOptions{SkipHeadPos: true})
	if err != nil {
		t.Fatal(err)
	}
	att, err := AttributionPatch(m, clean, corrupted, 3, 5)
	if err != nil {
		t.Fatal(err)
	}
	dla, err := DirectLogitAttribution(m, clean, len(clean), -1, 3, 5)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s, &PatchSuite{Activation: act, Attribution: att, DLA: dla}) {
		t.Error("PatchAll differs from its three parts run alone")
	}
	if _, err := PatchAll(m, clean, corrupted[:4], 3, 5, PatchOptions{}); err == nil {
		t.Error("prompts of unequal length accepted")
	}
}
