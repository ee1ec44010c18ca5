package peerscore

// PenaltyReason says why a peer was charged. Its values are snake case, as
// the metrics label them and as they read in JSON.
type PenaltyReason string

// The reasons Stats.Penalties counts charges by.
const (
	// PenaltyInvalidMessage: the peer sent an invalid message (P4).
	PenaltyInvalidMessage PenaltyReason = "invalid_message"
	// PenaltyBrokenPromise: the peer did not answer an IWANT for a message
	// it advertised (P7, rebuilt from the router's traces).
	PenaltyBrokenPromise PenaltyReason = "broken_promise"
	// PenaltyGraftBackoff: the peer GRAFTed during a PRUNE backoff (P7,
	// rebuilt).
	PenaltyGraftBackoff PenaltyReason = "graft_backoff"
	// PenaltyMeshDeficit: the peer left a mesh owing mesh deliveries (P3b).
	PenaltyMeshDeficit PenaltyReason = "mesh_deficit"
	// PenaltyIPColocation: the peer connected from an address already
	// shared by IPColocationFactorThreshold peers or more (P6).
	PenaltyIPColocation PenaltyReason = "ip_colocation"
	// PenaltySlowPeer: the router dropped messages to the peer because it
	// did not read them, or took long to write to it.
	PenaltySlowPeer PenaltyReason = "slow_peer"
	// PenaltyAddPenalty: the application called Scorer.AddPenalty. Reports
	// to package reputation are not penalties of the scorer's: they move
	// P5, and are counted by the Reputation (its Stats, and the metrics
	// package's peerscore_reputation_reports_total).
	PenaltyAddPenalty PenaltyReason = "add_penalty"
	// PenaltyApplication is the former name of PenaltyAddPenalty, whose
	// value was "application".
	//
	// Deprecated: it read as if it counted every penalty the application
	// gives, its reputation's reports included, while it counts only
	// AddPenalty. Use PenaltyAddPenalty.
	PenaltyApplication = PenaltyAddPenalty
	// PenaltyRepeatedExtensions: the peer sent an extensions control
	// message again on the same stream (P7, 10 each, rebuilt).
	PenaltyRepeatedExtensions PenaltyReason = "repeated_extensions"
)

// penalty indexes the running totals of the reasons, so that charging one
// is an array index rather than a map lookup.
type penalty uint8

const (
	penInvalidMessage penalty = iota
	penBrokenPromise
	penGraftBackoff
	penMeshDeficit
	penIPColocation
	penSlowPeer
	penAddPenalty
	penRepeatedExtensions
	numPenalties
)

var penaltyReasons = [numPenalties]PenaltyReason{
	PenaltyInvalidMessage, PenaltyBrokenPromise, PenaltyGraftBackoff, PenaltyMeshDeficit,
	PenaltyIPColocation, PenaltySlowPeer, PenaltyAddPenalty, PenaltyRepeatedExtensions,
}
