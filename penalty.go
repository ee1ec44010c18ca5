package peerscore

// PenaltyReason says why a peer was charged.
type PenaltyReason int

const (
	// PenaltyInvalidMessage: the peer sent an invalid message (P4).
	PenaltyInvalidMessage PenaltyReason = iota
	// PenaltyBrokenPromise: the peer did not answer an IWANT for a message
	// it advertised (P7, rebuilt from the router's traces).
	PenaltyBrokenPromise
	// PenaltyGraftBackoff: the peer GRAFTed during a PRUNE backoff (P7,
	// rebuilt).
	PenaltyGraftBackoff
	// PenaltyMeshDeficit: the peer left a mesh owing mesh deliveries (P3b).
	PenaltyMeshDeficit
	// PenaltyIPColocation: the peer connected from an address already
	// shared by IPColocationFactorThreshold peers or more (P6).
	PenaltyIPColocation
	// PenaltySlowPeer: the router dropped messages to the peer because it
	// did not read them.
	PenaltySlowPeer
	// PenaltyApplication: the application called AddPenalty.
	PenaltyApplication
	// PenaltyRepeatedExtensions: the peer sent an extensions control
	// message again on the same stream (P7, 10 each, rebuilt).
	PenaltyRepeatedExtensions

	numPenaltyReasons
)

var penaltyNames = [numPenaltyReasons]string{
	"invalid_message", "broken_promise", "graft_backoff", "mesh_deficit",
	"ip_colocation", "slow_peer", "application", "repeated_extensions",
}

// String returns the reason in snake case, as metrics label it.
func (r PenaltyReason) String() string {
	if r < 0 || r >= numPenaltyReasons {
		return "unknown"
	}
	return penaltyNames[r]
}

// PenaltyReasons lists every PenaltyReason.
func PenaltyReasons() []PenaltyReason {
	out := make([]PenaltyReason, numPenaltyReasons)
	for i := range out {
		out[i] = PenaltyReason(i)
	}
	return out
}
