import ArgumentParser
@main struct Baton: AsyncParsableCommand { func run() async throws {} }
