package transform

import (
	"fmt"
	"testing"
)

func TestParseCost(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"250 000 €", 250000, true},
		{"250\u00a0000\u00a0€", 250000, true},
		{"250\u202f000 €", 250000, true},
		{"1.5 M€", 1500000, true},
		{"1,5 M€", 1500000, true},
		{"12k", 12000, true},
		{"15 k€", 15000, true},
		{"1 200,50 €", 1201, true},
		{"1 200,49 €", 1200, true},
		{"environ 8000 euros", 8000, true},
		{"8000", 8000, true},
		{"€ 4500", 4500, true},
		{"250.000€", 250000, true},
		{"1,500", 1500, true},
		{"1.234.567,89 €", 1234568, true},
		{"1,234,567.89", 1234568, true},
		{"1 500 000,00 €", 1500000, true},
		{"2,5 millions d'euros", 2500000, true},
		{"3 millions", 3000000, true},
		{"5 mille euros", 5000, true},
		{"1 Md€", 1000000000, true},
		{"0 €", 0, true},
		{"Coût estimé : 45 000 € TTC", 45000, true},
		{"12'000 €", 12000, true},
		{"", 0, false},
		{"   ", 0, false},
		{"gratuit", 0, false},
		{"5 000 à 8 000 €", 0, false},
		{"entre 5000 et 8000", 0, false},
		{"-500 €", 0, false},
		{"20 %", 0, false},
		{"50 m²", 0, false},
		{"50 m2", 0, false},
		{"12 15", 0, false},
		{"1.2.3", 0, false},
		{"1,2.3,4", 0, false},
		{"99999999999999 €", 0, false},
		{"1e6", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := ParseCost(tt.in)
			if ok != tt.ok || got != tt.want {
				t.Errorf("ParseCost(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func FuzzParseCost(f *testing.F) {
	for _, s := range []string{"250 000 €", "1.5 M€", "12k", "1 200,50 €", "environ 8000 euros", "5 000 à 8 000", "1,234,567.89", "-3", "m²"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := ParseCost(s)
		if !ok {
			if v != 0 {
				t.Fatalf("ParseCost(%q) refused but returned %d", s, v)
			}
			return
		}
		if v < 0 || v > maxCostEUR {
			t.Fatalf("ParseCost(%q) = %d out of range", s, v)
		}
		// A parsed amount written back plainly must read the same.
		for _, back := range []string{fmt.Sprintf("%d €", v), fmt.Sprintf("%d", v)} {
			if w, ok := ParseCost(back); !ok || w != v {
				t.Fatalf("ParseCost(%q) = %d but ParseCost(%q) = %d, %v", s, v, back, w, ok)
			}
		}
	})
}
