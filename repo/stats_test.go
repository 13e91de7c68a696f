package repo

import "testing"

func TestDoubled(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		before, after int64
		want          bool
	}{
		{0, 1, false}, {998, 999, false}, {999, 1000, true}, {1000, 1001, false},
		{1999, 2000, true}, {2000, 2001, false}, {3999, 4000, true}, {5000, 7000, false},
		{63_999, 64_000, true}, {100_000, 100_001, false}, {900, 5000, true},
	} {
		if got := doubled(tc.before, tc.after); got != tc.want {
			t.Errorf("doubled(%d, %d) = %v, want %v", tc.before, tc.after, got, tc.want)
		}
	}
}
