from ccbridge.cli import main

main()
