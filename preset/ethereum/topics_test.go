package ethereum_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/peerscore/peerscore/preset/ethereum"
)

func TestTopicNames(t *testing.T) {
	assert.Equal(t, "/eth2/01020304/beacon_block/ssz_snappy", ethereum.Topic(testDigest, ethereum.BeaconBlock))
	assert.Equal(t, "/eth2/bba4da96/beacon_attestation_63/ssz_snappy",
		ethereum.Topic([4]byte{0xbb, 0xa4, 0xda, 0x96}, ethereum.AttestationSubnet(63)))
	assert.Equal(t, "sync_committee_3", ethereum.SyncCommitteeSubnet(3))
}
