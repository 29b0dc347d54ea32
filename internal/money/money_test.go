package money

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseAndScaled(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in     string
		scaled int64
		str    string
	}{
		{"99999999999.9999", 999999999999999, "99999999999.9999"},
		{"0.0001", 1, "0.0001"},
		{"181000", 1810000000, "181000"},
		{"7.7", 77000, "7.7"},
		{"-301666.6667", -3016666667, "-301666.6667"},
		{"1.50000", 15000, "1.5"},
	}
	for _, c := range cases {
		a, err := Parse(c.in)
		require.NoError(t, err, c.in)
		require.Equal(t, c.scaled, a.Scaled(), c.in)
		require.Equal(t, c.str, a.String(), c.in)
		var back Amount
		require.NoError(t, back.Scan(c.scaled))
		require.True(t, back.Equal(a), c.in)
	}
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"0.00001", "abc", "", "1000000000000.0001", "-1000000000001", "NaN"} {
		_, err := Parse(in)
		require.ErrorIs(t, err, ErrInvalid, in)
	}
}

func TestRoundVND(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"301666.6667":  "301667",
		"866666.6667":  "866667",
		"0.5":          "1",
		"0.4999":       "0",
		"-0.5":         "-1",
		"-301666.6667": "-301667",
	}
	for in, want := range cases {
		require.Equal(t, want, MustParse(in).RoundVND().String(), in)
	}
}

func TestGQL(t *testing.T) {
	t.Parallel()
	var a Amount
	require.NoError(t, a.UnmarshalGQL("181000.5"))
	var buf bytes.Buffer
	a.MarshalGQL(&buf)
	require.Equal(t, `"181000.5"`, buf.String())
	require.ErrorIs(t, a.UnmarshalGQL(181000), ErrInvalid)
	require.ErrorIs(t, a.UnmarshalGQL(181000.5), ErrInvalid)
	require.ErrorIs(t, a.UnmarshalGQL("1.00001"), ErrInvalid)
}

func TestScanText(t *testing.T) {
	t.Parallel()
	var a Amount
	require.NoError(t, a.Scan([]byte("1000000000000001")))
	require.Equal(t, "100000000000.0001", a.String())
	require.NoError(t, a.Scan("10"))
	require.Equal(t, "0.001", a.String())
	require.Error(t, a.Scan([]byte("1.5")))
	require.NoError(t, a.Scan(nil))
	require.True(t, a.IsZero())
}

func TestFormat(t *testing.T) {
	t.Parallel()
	require.Equal(t, "181,000 VND", VND(181000).Format())
	require.Equal(t, "-1,000,000 VND", VND(-1000000).Format())
	require.Equal(t, "7.7 VND", MustParse("7.7").Format())
	require.Equal(t, "0 VND", Zero.Format())
}
