package selection_test

import (
	"fmt"

	"github.com/golocust/golocust/internal/selection"
)

func ExampleHost() {
	for _, s := range []string{" HTTP://127.0.0.1:8080/ ", "127.0.0.1:8080"} {
		h, err := selection.Host(s)
		fmt.Printf("%q %v\n", h, err)
	}
	// Output:
	// "http://127.0.0.1:8080" <nil>
	// "" "127.0.0.1:8080": want a base URL starting with http:// or https://, such as http://127.0.0.1:8080
}

func ExampleClasses() {
	known := []string{"Shopper", "Admin"}
	fmt.Println(selection.Classes(known, []string{"Admin,Shopper"}))
	fmt.Println(selection.Classes(known, []string{"Shoper"}))
	// Output:
	// [Admin Shopper] <nil>
	// [] unknown user class "Shoper" (did you mean "Shopper"?): choose from Admin, Shopper
}
