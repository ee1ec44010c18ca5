package ethereum

import (
	"encoding/hex"
	"strconv"
)

// Beacon chain gossip topic names, without the "/eth2/<fork digest>/"
// prefix and "/ssz_snappy" suffix that Topic adds.
const (
	BeaconBlock                       = "beacon_block"
	BeaconAggregateAndProof           = "beacon_aggregate_and_proof"
	VoluntaryExit                     = "voluntary_exit"
	ProposerSlashing                  = "proposer_slashing"
	AttesterSlashing                  = "attester_slashing"
	SyncCommitteeContributionAndProof = "sync_committee_contribution_and_proof"
	BLSToExecutionChange              = "bls_to_execution_change"
)

// Subnet counts of the beacon chain (ATTESTATION_SUBNET_COUNT,
// SYNC_COMMITTEE_SUBNET_COUNT; the same on every public network).
const (
	AttestationSubnetCount   = 64
	SyncCommitteeSubnetCount = 4
)

// AttestationSubnet returns the name of attestation subnet i
// ("beacon_attestation_<i>"), 0 ≤ i < AttestationSubnetCount.
func AttestationSubnet(i int) string {
	return "beacon_attestation_" + strconv.Itoa(i)
}

// SyncCommitteeSubnet returns the name of sync committee subnet i
// ("sync_committee_<i>"), 0 ≤ i < SyncCommitteeSubnetCount.
func SyncCommitteeSubnet(i int) string {
	return "sync_committee_" + strconv.Itoa(i)
}

// Topic returns the full gossipsub topic of a beacon chain topic name under
// a fork digest, as the consensus p2p spec spells it:
// "/eth2/<digest in lowercase hex>/<name>/ssz_snappy".
func Topic(forkDigest [4]byte, name string) string {
	return "/eth2/" + hex.EncodeToString(forkDigest[:]) + "/" + name + "/ssz_snappy"
}
