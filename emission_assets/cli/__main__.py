from emission_assets.cli.main import main

main()
