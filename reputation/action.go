package reputation

import "fmt"

// Action is what the application judges a peer to have done. The four
// penalties are tolerance classes, as Lighthouse's PeerAction: how many
// times an honest but flawed peer may do it before the node stops
// listening. Useful is a reward, and counts only with WithReward.
//
// Actions marshal to text: "low", "mid", "high", "fatal", "useful".
type Action uint8

// The actions, from the mildest penalty to the reward. The zero Action is
// not one of them.
const (
	// Low is a slip an honest peer makes now and then: a slow or empty
	// response, a timeout. Costs 1 point by default: it takes ~50 within a
	// half-life to reach -50.
	Low Action = iota + 1
	// Mid is a fault an honest peer makes rarely: a response that breaks
	// the protocol, a message useless to us. Costs 5 by default (~10 to
	// reach -50).
	Mid
	// High is a fault that is almost certainly the peer's: an invalid
	// block or proof. Costs 10 by default (5 reach -50).
	High
	// Fatal is beyond doubt: a wrong network, a fork the node will never
	// follow, provable malice. Sets the value to the minimum, -100.
	Fatal
	// Useful rewards a peer that served the application well. It counts
	// only with WithReward, and never lifts the value above that option's
	// maximum; without the option it is ignored (not even tracked).
	Useful
)

var actionNames = [...]string{Low: "low", Mid: "mid", High: "high", Fatal: "fatal", Useful: "useful"}

// valid reports whether a is one of the named actions.
func (a Action) valid() bool { return a >= Low && a <= Useful }

// penalty reports whether a lowers the value.
func (a Action) penalty() bool { return a >= Low && a <= Fatal }

// String returns the action's name, or "Action(n)" for an unnamed one.
func (a Action) String() string {
	if a.valid() {
		return actionNames[a]
	}
	return fmt.Sprintf("Action(%d)", uint8(a))
}

// MarshalText writes the action's name; an unnamed action is an error.
func (a Action) MarshalText() ([]byte, error) {
	if !a.valid() {
		return nil, fmt.Errorf("peerscore/reputation: unknown action %d", uint8(a))
	}
	return []byte(actionNames[a]), nil
}

// UnmarshalText reads an action's name, as MarshalText writes it.
func (a *Action) UnmarshalText(text []byte) error {
	for i, name := range actionNames {
		if name != "" && name == string(text) {
			*a = Action(i)
			return nil
		}
	}
	return fmt.Errorf("peerscore/reputation: unknown action %q (want low, mid, high, fatal or useful)", text)
}
