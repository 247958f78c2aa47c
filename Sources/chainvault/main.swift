print("chainvault")
