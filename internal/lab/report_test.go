package lab

import (
	"testing"
	"time"
)

func TestJudge(t *testing.T) {
	ms := time.Millisecond
	res := func(arm Arm, delivery float64, p99 time.Duration) *Result {
		return &Result{Arm: arm, Delivery: delivery, P99: p99}
	}
	baseline := []*Result{res(ArmPeerscore, 1, 100*ms), res(ArmNative, 1, 100*ms), res(ArmNone, 1, 100*ms)}
	tests := []struct {
		name                          string
		row, base                     []*Result
		holds, unscored, hurt, isSlow bool
	}{
		{"all arms, attack hurts only unscored",
			[]*Result{res(ArmPeerscore, 1, 110*ms), res(ArmNative, 1, 110*ms), res(ArmNone, 0.9, 900*ms)}, baseline,
			true, true, true, false},
		{"unscored arm unharmed",
			[]*Result{res(ArmPeerscore, 1, 110*ms), res(ArmNone, 1, 150*ms)}, baseline,
			true, true, false, false},
		{"peerscore below 99%",
			[]*Result{res(ArmPeerscore, 0.985, 110*ms), res(ArmNone, 0.9, 900*ms)}, baseline,
			false, true, true, false},
		{"peerscore below native",
			[]*Result{res(ArmPeerscore, 0.995, 110*ms), res(ArmNative, 0.999, 110*ms)}, baseline,
			false, false, false, false},
		{"peerscore holds delivery but slowly",
			[]*Result{res(ArmPeerscore, 0.999, 2000*ms)}, baseline,
			true, false, false, true},
		{"no peerscore arm: nothing judged",
			[]*Result{res(ArmNone, 1, 1000*ms)}, baseline,
			false, true, true, false},
		{"no baseline: neither harm nor slowness measured",
			[]*Result{res(ArmPeerscore, 0.999, 2000*ms), res(ArmNone, 0.5, 9000*ms)}, nil,
			true, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Judge(tt.row, tt.base)
			if v.Holds != tt.holds || v.Unscored != tt.unscored || v.Hurt != tt.hurt || (v.Slow != "") != tt.isSlow {
				t.Errorf("Judge = %+v; want holds %v, unscored %v, hurt %v, slow %v", v, tt.holds, tt.unscored, tt.hurt, tt.isSlow)
			}
			if v.Scored != (pick(tt.row, ArmPeerscore) != nil) {
				t.Errorf("Scored = %v with rows %v", v.Scored, tt.row)
			}
			if !v.Scored && v.holdsText() != "peerscore arm not run" {
				t.Errorf("holdsText = %q without a peerscore arm", v.holdsText())
			}
			if !tt.unscored && v.hurtText() == "no harm unscored at this scale" {
				t.Errorf("hurtText claims no harm without an unscored measurement")
			}
		})
	}
}
