package circuits

import "github.com/mechinterp/mechinterp/models"

// PatchSuite is every patching readout of one clean/corrupted pair: activation patching
// (Patch), its first-order estimate (AttributionPatch) and the direct logit attribution of the
// clean run at its last position (DirectLogitAttribution).
type PatchSuite struct {
	Activation  *PatchResult `json:"activation"`
	Attribution *PatchResult `json:"attribution"`
	DLA         *DLA         `json:"dla"`
}

// PatchAll runs Patch with o, AttributionPatch and DirectLogitAttribution on one pair of
// prompts of equal length, with the metric logit(answer) - logit(wrong) at the last position.
func PatchAll(m *models.Model, clean, corrupted []int, answer, wrong int, o PatchOptions) (*PatchSuite, error) {
	act, err := Patch(m, clean, corrupted, answer, wrong, o)
	if err != nil {
		return nil, err
	}
	att, err := AttributionPatch(m, clean, corrupted, answer, wrong)
	if err != nil {
		return nil, err
	}
	dla, err := DirectLogitAttribution(m, clean, len(clean), -1, answer, wrong)
	if err != nil {
		return nil, err
	}
	return &PatchSuite{Activation: act, Attribution: att, DLA: dla}, nil
}
