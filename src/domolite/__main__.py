from domolite.cli import main

main()
