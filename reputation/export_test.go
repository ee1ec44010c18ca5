package reputation

// Negligible is the value below which a peer is forgotten.
const Negligible = negligible

// DecayStep runs one step of the decay loop.
func DecayStep(r *Reputation) { r.decay() }

// IndexSize is the number of slots in r's lock-free index.
func IndexSize(r *Reputation) int { return r.peers.Slots() }

// KthLargest exposes the selection makeRoom uses.
func KthLargest(vals []float64, k int) float64 { return kthLargest(vals, k) }
