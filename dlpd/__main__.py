from dlpd.cli import main

main()
