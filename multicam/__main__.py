from multicam.cli import main

main()
