package statefile

import (
	"fmt"
	"math/big"
	"strings"

	"github.com/libp2p/go-libp2p/core/peer"
)

// MaxPeerIDChars is the longest peer ID, in base58 characters, that a
// state holds. Real IDs have 46 to 52; savers leave out longer ones, and
// DecodePeerID refuses them.
const MaxPeerIDChars = 256

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// DecodePeerID reads a peer ID as peer.ID.String writes it: the base58
// (Bitcoin alphabet) of its bytes. Unlike peer.Decode it does not insist
// that the bytes be a multihash, so any ID a scorer or gater was given
// survives a round trip; the result is checked by encoding it again.
func DecodePeerID(s string) (peer.ID, error) {
	if s == "" || len(s) > MaxPeerIDChars {
		return "", fmt.Errorf("peer ID %.20q: empty or too long", s)
	}
	n, digit, radix := new(big.Int), new(big.Int), big.NewInt(58)
	zeros := 0
	for zeros < len(s) && s[zeros] == '1' {
		zeros++
	}
	for i := 0; i < len(s); i++ {
		d := strings.IndexByte(base58Alphabet, s[i])
		if d < 0 {
			return "", fmt.Errorf("peer ID %q: not base58", s)
		}
		n.Mul(n, radix).Add(n, digit.SetInt64(int64(d)))
	}
	id := peer.ID(append(make([]byte, zeros), n.Bytes()...))
	if id.String() != s {
		return "", fmt.Errorf("peer ID %q: not in canonical base58", s)
	}
	return id, nil
}
