package runner

import "testing"

func TestClassCountsAreLoggedAsLocustDoes(t *testing.T) {
	cases := map[string]map[string]int{
		`{}`:                         {},
		`{"Shopper": 9}`:             {"Shopper": 9},
		`{"Admin": 1, "Shopper": 9}`: {"Shopper": 9, "Admin": 1},
	}
	for want, in := range cases {
		if got := formatClassCounts(in); got != want {
			t.Errorf("formatClassCounts(%v) = %s, want %s", in, got, want)
		}
	}
}
