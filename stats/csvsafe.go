package stats

// CSVCell neutralises a text cell for a CSV file, following OWASP's rule
// against formula (CSV) injection: a cell that begins with =, +, -, @, a
// tab or a carriage return gets a single quote in front, so a spreadsheet
// shows it as text instead of running it as a formula. Names, methods,
// error texts and exception texts come from the system under test or from
// workers, so every CSV the project writes passes them through here;
// numbers (never negative) are written as they are, and JSON stays exact.
func CSVCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}
