package ethereum

import (
	"fmt"
	"strconv"
)

// MeshPenalty chooses how hard the preset's P3 and P3b (mesh message
// delivery deficit and mesh failure penalty) hit. This is where the
// consensus clients disagree most. It marshals as text ("full", "mild",
// "off"), for configuration files and flag.TextVar.
type MeshPenalty int

const (
	// MeshPenaltyFull sizes P3 from the budget: a mesh peer that delivers
	// nothing loses MaxPositiveScore (weight −MaxPositiveScore / (TopicWeight
	// · threshold²)). The original method, still used by Teku and
	// Lodestar. The zero value.
	MeshPenaltyFull MeshPenalty = iota
	// MeshPenaltyMild gives P3 the weight −TopicWeight, whatever the
	// threshold: a silent mesh peer loses TopicWeight² · threshold², which
	// grows with the square of the topic's rate. At 500000 validators that
	// is about 0.1 points on blocks, 4 per attestation subnet and 19500 on
	// aggregates (threshold 279), against a flat 140 with
	// MeshPenaltyFull. Lighthouse's current choice.
	MeshPenaltyMild
	// MeshPenaltyOff turns P3 and P3b off, as Prysm runs.
	MeshPenaltyOff
)

var meshPenaltyNames = [...]string{MeshPenaltyFull: "full", MeshPenaltyMild: "mild", MeshPenaltyOff: "off"}

// String returns "full", "mild" or "off".
func (m MeshPenalty) String() string {
	if m >= 0 && int(m) < len(meshPenaltyNames) {
		return meshPenaltyNames[m]
	}
	return "MeshPenalty(" + strconv.Itoa(int(m)) + ")"
}

// MarshalText returns the String form; it refuses values other than the
// three constants, so that what is written can be read back.
func (m MeshPenalty) MarshalText() ([]byte, error) {
	if m < 0 || int(m) >= len(meshPenaltyNames) {
		return nil, fmt.Errorf("peerscore/ethereum: MeshPenalty(%d) is not full, mild or off", int(m))
	}
	return []byte(meshPenaltyNames[m]), nil
}

// UnmarshalText reads "full", "mild" or "off".
func (m *MeshPenalty) UnmarshalText(text []byte) error {
	for i, name := range meshPenaltyNames {
		if string(text) == name {
			*m = MeshPenalty(i)
			return nil
		}
	}
	return fmt.Errorf("peerscore/ethereum: mesh penalty %q: want full, mild or off", text)
}
