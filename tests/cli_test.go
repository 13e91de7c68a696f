package tests

func cleanupBinary() {}
