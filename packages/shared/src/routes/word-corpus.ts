/**
 * The words the letter-pair model learns English spelling from: web and API vocabulary first
 * (what URL paths are made of), then everyday English so that unseen words still score as
 * words. Written for this project; order and repetition do not matter. Keep it lower-case
 * a-z, separated by whitespace.
 */
export const WORD_CORPUS = `
api apis rest graphql rpc webhook webhooks callback callbacks hook hooks
user users account accounts profile profiles member members customer customers client clients
admin admins administrator role roles group groups team teams organization organizations org orgs
tenant tenants owner owners person people employee employees staff contact contacts
login logout signin signout signup register registration auth authorize authorization
authenticate authentication oauth token tokens session sessions password passwords reset
verify verification confirm confirmation invite invitation invitations credential credentials
permission permissions scope scopes consent identity identities
order orders cart carts basket checkout payment payments pay invoice invoices billing bill
subscription plan plans price prices pricing product products item items catalog catalogue
category categories collection collections inventory stock store stores shop shopping
shipping shipment shipments delivery deliveries address addresses coupon coupons discount
discounts refund refunds receipt receipts transaction transactions transfer transfers
wallet wallets balance balances charge charges purchase purchases sale sales quote quotes
health healthz ready readiness live liveness status ping metrics metric stats statistics
version versions info debug trace traces tracing log logs logging monitor monitoring alert
alerts event events notification notifications message messages inbox outbox queue queues
job jobs task tasks worker workers schedule schedules cron batch batches report reports
search query filter filters sort page pages list lists detail details summary overview
dashboard dashboards home index main default public private internal external static
asset assets image images img media file files upload uploads download downloads document
documents doc docs attachment attachments avatar avatars thumbnail thumbnails photo photos
video videos audio music stream streams channel channels playlist playlists
post posts comment comments reply replies thread threads topic topics forum forums blog blogs
article articles news feed feeds story stories tag tags label labels like likes share shares
follow followers following friend friends review reviews rating ratings vote votes poll
config configuration configurations setting settings preference preferences option options
feature features flag flags toggle experiment experiments environment environments
project projects repository repositories repo branch branches commit commits release releases
build builds deploy deploys deployment deployments pipeline pipelines artifact artifacts
service services server servers cluster clusters node nodes namespace namespaces pod pods
container containers image registry volume volumes network networks instance instances
resource resources region regions zone zones endpoint endpoints gateway proxy route routes
database databases table tables record records schema schemas migration migrations backup
backups export exports import imports sync data dataset datasets model models
cache storage bucket buckets object objects key keys value values secret secrets certificate
certificates domain domains host hosts port ports address link links redirect redirects
create update delete remove edit add new save submit cancel approve reject archive restore
get set put patch fetch send receive open close start stop pause resume retry enable disable
activate deactivate publish unpublish assign unassign attach detach connect disconnect
check validate preview render generate convert calculate estimate process execute run
count total recent popular trending featured top latest today weekly monthly yearly
calendar event appointment appointments booking bookings reservation reservations ticket
tickets support help faq contact about terms privacy policy policies legal cookie cookies
location locations map maps place places city cities country countries state states
language languages locale locales translation translations currency currencies rate rates
chat chats conversation conversations call calls meeting meetings room rooms workspace
email emails mail sms phone phones device devices mobile web desktop app apps application
applications widget widgets plugin plugins extension extensions integration integrations
partner partners vendor vendors supplier suppliers provider providers merchant merchants
student students course courses lesson lessons class classes school teacher grade grades
patient patients doctor doctors hospital clinic visit visits prescription medicine
game games player players score scores match matches level levels achievement leaderboard
weather forecast flight flights hotel hotels car cars ride rides driver drivers trip trips
readyz livez openapi swagger graphiql grpc
`;

/** Everyday English, so that ordinary words never look like ids. */
export const ENGLISH_CORPUS = `
the of and to in is was he for it with as his on be at by had are but from or have an they
which one you were all her she there would their we him been has when who will no more if out
so up said what its about than into them can only other time new some could these two may
first then do any like my now over such our man me even most made after also did many off
before must well back through years where much your way down should because each just those
how too little good very make world still own see men work long here both between life being
under never day same another know while last might great old year come since against go came
right used take three states himself few house use during without again place around however
small found thought went say part once general high upon school every don does got united left
number course war until always away something fact water though less public put think almost
hand enough far took head yet government system better set told nothing night end why called
didn find look going point knew city business given young second among week thing room
mother father brother sister family friend child children woman women water light power money
early morning evening garden window river mountain ocean forest animal flower market letter
question answer problem reason picture paper story study word words hour minute history
nature country summer winter spring autumn color colour table chair kitchen street station
travel journey bridge island church student teacher doctor nurse lawyer farmer driver writer
reader buyer seller builder manager leader member mirror silver golden yellow purple orange
green black white brown simple strong quick quiet happy sorry heavy clean clear close cold
warm dark bright short tall wide narrow easy hard soft sweet fresh ready early late free
full empty open busy safe real true false wrong whole single double common special private
learn teach write speak listen watch travel carry bring build break choose follow happen
believe remember understand explain describe include continue consider become appear allow
provide receive require suggest support improve increase reduce produce protect prepare
compare decide develop discover enjoy expect imagine manage measure notice offer order
organize perform prefer prevent promise realize recognize replace report represent return
share shout smile stand travel wonder worry answer across along behind beyond inside outside
above below toward towards within without upon among around against during although because
unless whether either neither rather quite often always usually sometimes never already
together tomorrow yesterday tonight everything something anything nothing everyone someone
anyone beautiful important different possible available various certain entire several
national natural personal political social special physical financial medical digital global
local central final original regular similar popular particular serious current recent
experience knowledge language education information development management environment
government relationship performance opportunity community technology difference situation
position condition attention direction decision production collection connection protection
question industry activity security quality quantity ability capacity university society
ability absence academy accept accident account achieve acid acquire action actor actual adapt
admire adult advance advice affair afford afraid agency agenda agent agree ahead aircraft alarm
album alcohol alive allow alone amount analysis ancient anger angle angry animal annual anxiety
anybody apartment apparent appeal apple approach approval argue arise armed army arrange arrest
arrival arrive article artist aside asleep aspect assault assess assist assume attack attempt
attend attitude attract audience author average avoid award aware awful baby background badly
balance ball band bank barrier base basic basket battle beach bear beat bedroom beer behave
belief bell belong bench bend benefit beside best bet bicycle bind bird birth bite bitter blade
blame blank blind block blood blow blue board boat body bone bonus border borrow boss bottle
bottom bound bowl brain branch brand brave bread breath breed brick brief broad budget bullet
bunch burden burn bury butter button cabin cable cake calm camera camp cancer candle capable
capital captain carbon career careful cargo carpet case cash cast castle catch cause ceiling
cell century ceremony chain chairman challenge chamber champion chance chapter character charity
chart cheap cheese chemical chest chicken chief choice circle citizen civil claim classic clever
climate climb clinic clock cloth cloud club coach coast coat code coffee coin collapse colleague
column combine comfort command comment commit committee company complete complex concept concern
concert conduct conflict congress contest context contract control cook cool copper copy core
corner correct cost cottage cotton council counter couple courage court cousin cover crack craft
crash cream credit crew crime crisis critic crowd crown crucial cruel crystal culture cup
curious curve cycle daily damage dance danger dare date dead deal dear debate debt decade deep
defeat defence degree delay deliver demand deny depend deposit depth deputy desert design desire
desk detect device diet digital dinner direct dirty disease dish display distance divide doctor
dollar door doubt dozen draft drag drama draw dream dress drink drive drop drug dry duty eager
earn earth east economy edge editor effect effort elbow elder elect element elite embrace emerge
emotion empire employ enemy energy engine enhance enter entry equal equip error escape essay
estate ethnic evening evidence exact exam example excess exchange excite excuse exercise exhibit
exist exit expand expert explore expose extend extra fabric face factor factory fail fair faith
fall fame fancy farm fashion fast fault favour fear federal fee feel fellow female fence fiber
field fight figure final finance finger finish fire firm fish fitness fix flat flesh flight
float floor flow fly focus fold folk food foot force foreign forget form formal fortune forward
frame frank freedom fruit fuel function fund funny future gain gallery gap gas gate gather
gender gene generous gentle ghost giant gift girl glad glass goal god gold golf grab grace grain
grand grant grass grave gray ground grow growth guard guess guest guide guilty gun guy habit
hair half hall handle hang harbour harm hat hate heat heaven height hell hero hide hill hint
hire hobby hold hole holiday holy honest honey honour hope horror horse hospital hotel huge
human humour hunger hunt hurry hurt husband ice idea ideal ignore illegal illness image impact
import impose impress income index infant inform injury inner input insect insist install intend
invest invite iron issue item jacket jail joint joke journal judge juice jump junior jury
justice keen kick kid kill kind king kiss knee knife knock lab lack lady lake land lane large
laugh launch lawn layer lazy lead leaf league lean lease leather leave lecture legacy legend
lemon lend length lesson liberal liberty lift limit line lion lip liquid loan lock lonely loose
lord lose loss loud lovely lower loyal luck lunch machine magazine magic maid mail major male
mall manner manual margin marine mark marriage mass master match material matter mayor meal meat
medal medium melt memory mental mention menu mercy mess metal method middle mild military milk
mind mine minor mission mistake mix mobile modern modest moment monitor month mood moon moral
motor mount mouse mouth move movie muscle museum mystery nail naked narrow nasty native navy
neck needle neighbour nerve nest net nice noble noise normal north nose note novel nuclear obey
object obtain obvious occupy ocean odd offence office officer oil olive onion opera opinion
oppose option oral orange origin outcome oven owe pace pack pain paint pair palace panel panic
parent park partner party pass past path pattern pause peace peak pen penalty pencil pension
pepper perfect period permit phase phrase piano pick piece pilot pink pipe pitch plain plane
planet plant plastic plate platform pleasant plenty pocket poem poet poison pole pool poor pop
port pose potato pound pour poverty powder praise pray predict pregnant present press pretty
pride priest prince print prior prison prize profit program proper proud prove pub pull pump
punch pupil pure purple purpose push puzzle quarter queen quick quiet quit quote race radio rail
rain raise range rank rapid rare raw reach react realm rear rebel recall recipe record recover
red refer reflect reform refuse regard regime region reject relax release relief rely remain
remark remote rent repair repeat rescue research resident resist respect rest result retire
reveal revenue reward rhythm rice rich ride rifle ring rise risk rival river road rock rocket
roll roof root rope rose rough round row royal rubber rude rule rural rush sad sail salad salary
salt sample sand satisfy sauce scale scene science screen script sea season seat secret section
sector seed seek segment select senior sense sentence series session settle severe shade shadow
shake shallow shape sharp sheet shelf shell shift shine ship shirt shock shoe shoot shore shot
shoulder show shut shy sick side sight sign silence silk silly sing sink site size skill skin
skirt sky sleep slice slide slight slip slope slow smart smell smoke smooth snake snow soap
soccer sock soil soldier solid solve song soul sound soup source south space spare speech speed
spell spend spirit split sport spot spread square stable stage stair stake stamp star steady
steal steam steel steep step stick stiff stock stomach stone storm strange strategy straw stream
strength stress strict strike string strip stroke struggle stuff style subject succeed sugar
suit sun super supply surface surgery surprise survey suspect swear sweep swim swing switch
symbol tail tale talent talk tank tape target taste tax tea tear tell temple tend tennis tent
term test text thank theme theory thick thin threat throat throw thumb ticket tide tie tight
timber tiny tip tired title tobacco toe tone tongue tool tooth topic torture touch tough tour
tower town toy track trade tradition traffic train trait transport trap treat tree trend trial
tribe trick trip troop trouble truck trust truth tube tune tunnel turn twin twist type ugly
uncle union unique unit universe upper upset urban urge useful valley valuable van variety vast
vehicle venture verse vessel victim victory view village violence virtue vision visual voice
volume voter wage wait wake walk wall wander war warn wash waste wave weak wealth weapon wear
wedding weekend weight welcome west wheel whip whisper wide wife wild wind wine wing winner wire
wise wish witness wood wool worker worth wound wrap yard yield youth
`;
