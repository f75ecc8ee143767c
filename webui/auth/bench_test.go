package auth

import (
	"strings"
	"testing"
)

// BenchmarkCheckArgon2id is one password verification (a login, or the
// first basic-auth request of a script).
func BenchmarkCheckArgon2id(b *testing.B) {
	h, err := HashPassword("pw")
	if err != nil {
		b.Fatal(err)
	}
	a, err := ParseAccounts(strings.NewReader("ann:admin:"+h), "b")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		a.cache = map[string]cached{} // no shortcut
		if _, ok := a.Check("ann", "pw"); !ok {
			b.Fatal("refused")
		}
	}
}

// BenchmarkCheckRemembered is a script's basic-auth request after the
// first: an HMAC, no hashing.
func BenchmarkCheckRemembered(b *testing.B) {
	h, err := HashPassword("pw")
	if err != nil {
		b.Fatal(err)
	}
	a, err := ParseAccounts(strings.NewReader("ann:admin:"+h), "b")
	if err != nil {
		b.Fatal(err)
	}
	a.Check("ann", "pw")
	for b.Loop() {
		if _, ok := a.Check("ann", "pw"); !ok {
			b.Fatal("refused")
		}
	}
}
