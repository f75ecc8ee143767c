package auth_test

import (
	"fmt"
	"strings"

	"github.com/golocust/golocust/webui/auth"
)

// An accounts file holds name:role:hash lines; HashPassword (or the
// --hash-password flag) makes the hashes.
func ExampleParseAccounts() {
	hash, err := auth.HashPassword("correct horse")
	if err != nil {
		panic(err)
	}
	file := "# name:role:hash\nvera:viewer:" + hash + "\n"
	accounts, err := auth.ParseAccounts(strings.NewReader(file), "users.txt")
	if err != nil {
		panic(err)
	}
	id, ok := accounts.Check("vera", "correct horse")
	fmt.Println(id.Name, id.Role, ok)
	fmt.Println("may start a run:", id.Role.Allows(auth.Operator))
	_, ok = accounts.Check("vera", "wrong")
	fmt.Println(ok)
	// Output:
	// vera viewer true
	// may start a run: false
	// false
}
