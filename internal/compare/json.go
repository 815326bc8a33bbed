package compare

import (
	"encoding/json"
	"math"
)

// MarshalJSON writes an estimate with null in place of the NaNs that mean
// "not computed" (JSON has no NaN).
func (e Estimate) MarshalJSON() ([]byte, error) {
	level := num(e.CILevel)
	if math.IsNaN(e.CILo) {
		level = nil
	}
	return json.Marshal(struct {
		Base        *float64 `json:"base"`
		Head        *float64 `json:"head"`
		Change      *float64 `json:"change"`
		N1          int      `json:"n_base"`
		N2          int      `json:"n_head"`
		Tested      bool     `json:"tested"`
		NoTest      string   `json:"no_test,omitempty"`
		P           *float64 `json:"p"`
		Significant bool     `json:"significant"`
		CILo        *float64 `json:"ci_lo"`
		CIHi        *float64 `json:"ci_hi"`
		CILevel     *float64 `json:"ci_level"`
		Warnings    []string `json:"warnings,omitempty"`
	}{num(e.Base), num(e.Head), num(e.Change), e.N1, e.N2, e.Tested, e.NoTest, num(e.P),
		e.Significant, num(e.CILo), num(e.CIHi), level, e.Warnings})
}

// MarshalJSON writes a pair of means with null for the NaN of an empty
// mean.
func (m MeanPair) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Base   *float64 `json:"base"`
		Head   *float64 `json:"head"`
		Change *float64 `json:"change"`
	}{num(m.Base), num(m.Head), num(m.Change)})
}

// num returns x for JSON, nil for NaN and infinities.
func num(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}
