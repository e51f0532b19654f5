package frfmt

import "testing"

func TestFormats(t *testing.T) {
	const s = NNBSP
	for _, tt := range []struct{ got, want string }{
		{Int(0), "0"}, {Int(999), "999"}, {Int(1234567), "1" + s + "234" + s + "567"}, {Int(-12345), "−12" + s + "345"},
		{Dec(1234.5, 1), "1" + s + "234,5"}, {Dec(-0.04, 1), "0,0"}, {Dec(-2.6, 0), "−3"},
		{Number(0.27178434744023516), "0,272"}, {Number(0.0025370), "0,00254"}, {Number(12345.678), "12" + s + "345,68"},
		{Number(3), "3"}, {Number(2.5), "2,5"}, {Number(0), "0"}, {Number(-0.5), "−0,5"}, {Number(1e-12), "0,000000000001"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
